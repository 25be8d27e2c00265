import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WindowTable } from '../../src/context/windows.js';
import { PriceTable } from '../../src/usage/pricing.js';
import { countedTokens, parseUsage } from '../../src/usage/usage.js';

describe('parseUsage', () => {
  it('takes the five counts of a cached call apart', () => {
    const { figures, problems } = parseUsage({
      input_tokens: 21, output_tokens: 300, cache_read_input_tokens: 188_086, cache_creation_input_tokens: 5_000,
      cache_creation: { ephemeral_5m_input_tokens: 1_000, ephemeral_1h_input_tokens: 4_000 },
    });
    expect(figures).toEqual({ input: 21, cacheWrite5m: 1_000, cacheWrite1h: 4_000, cacheRead: 188_086, output: 300 });
    expect(problems).toEqual([]);
    expect(countedTokens(figures)).toBe(21 + 5_000 + 300); // cache reads are not in tokens_total
  });

  it.each([
    [{ input_tokens: '0105', output_tokens: '0015' }, 2],
    [{ input_tokens: -5, output_tokens: 3.5 }, 2],
    [{ input_tokens: Number.NaN, output_tokens: 1e12 }, 2],
    [{ input_tokens: 10, output_tokens: 2, cache_read_input_tokens: 'lots' }, 1],
  ])('counts a field that is not a whole non-negative number as 0 and names it: %j', (usage, bad) => {
    const { figures, problems } = parseUsage(usage);
    expect(problems).toHaveLength(bad);
    for (const n of Object.values(figures)) expect(Number.isInteger(n) && n >= 0).toBe(true);
  });

  it('counts a missing usage as nothing', () => {
    expect(parseUsage(undefined).figures).toEqual({ input: 0, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0, output: 0 });
  });
});

describe('the price table', () => {
  const usage = { input: 1_000_000, cacheWrite5m: 1_000_000, cacheWrite1h: 1_000_000, cacheRead: 1_000_000, output: 1_000_000 };

  it('prices each of the five counts at its own rate, dated model names by their family', () => {
    const table = PriceTable.load();
    expect(table.costOf('claude-sonnet-4-6', usage)).toBe(3 + 3.75 + 6 + 0.3 + 15);
    expect(table.costOf('claude-sonnet-4-5-20250929', usage)).toBe(3 + 3.75 + 6 + 0.3 + 15);
    expect(table.costOf('claude-haiku-4-5', { ...usage, cacheWrite5m: 0, cacheWrite1h: 0, output: 0 })).toBe(1.1);
    expect(table.costOf('llama3.2', usage)).toBeNull();
  });

  it('is overridden entry by entry by the file AUTON_PRICES_FILE names; a bad file is one clear error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auton-prices-'));
    const file = join(dir, 'prices.json');
    await writeFile(file, JSON.stringify({ models: { 'llama3.2': { input: 0, cache_write_5m: 0, cache_write_1h: 0, cache_read: 0, output: 0 } } }));
    const table = PriceTable.load(file);
    expect(table.costOf('llama3.2', usage)).toBe(0);
    expect(table.costOf('claude-opus-4-6', usage)).toBe(5 + 6.25 + 10 + 0.5 + 25);
    await writeFile(file, JSON.stringify({ models: { x: { input: -1 } } }));
    expect(() => PriceTable.load(file)).toThrow(/invalid price table .*prices\.json: models\.x/);
  });
});

describe('the window table', () => {
  it('knows the shipped models, falls back to its default, and takes an override file', async () => {
    expect(WindowTable.load().windowOf('claude-sonnet-4-6')).toBe(200_000);
    expect(WindowTable.load().windowOf('some-local-model')).toBe(200_000);
    const dir = await mkdtemp(join(tmpdir(), 'auton-windows-'));
    const file = join(dir, 'windows.json');
    await writeFile(file, JSON.stringify({ default_tokens: 32_768, models: { 'qwen3:8b': 40_960 } }));
    const table = WindowTable.load(file);
    expect(table.windowOf('qwen3:8b')).toBe(40_960);
    expect(table.windowOf('some-local-model')).toBe(32_768);
    expect(table.windowOf('claude-opus-4-6')).toBe(200_000);
  });
});

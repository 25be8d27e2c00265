import { describe, expect, it } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { spawnAgent, type Api, type TestDaemon } from '../support/daemon.js';
import { dataOf } from '../support/sse-client.js';
import { daemonPerTest, nextState, openLog, requestsOf, waitForNode } from './runner-support.js';

const LONG_GOAL = `Survey the coast. ${'Context the agent carries. '.repeat(400)}`;

function metric(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('usage and money', () => {
  const start = daemonPerTest();
  let t: TestDaemon;
  let http: Api;

  it('cache reads and writes show in model_call events, health and /metrics, priced at their own rates', async () => {
    ({ t, http } = await start());
    t.fake.setHandler(() => ({ kind: 'text', text: 'ok' }));
    await spawnAgent(http, null, 'a', { spec: { goal: LONG_GOAL, model: 'claude-haiku-4-5' } });
    const log = await openLog(t, 'a');
    await nextState(log, 'idle', 10_000);
    for (const content of ['first question', 'second question']) {
      await http.post('/agents/a/message', { content });
      await log.next((e) => e.event === 'model_call' && log.events.filter((x) => x.event === 'model_call').length >= 2, 10_000);
      await nextState(log, 'idle', 10_000);
    }
    const calls = log.events.filter((e) => e.event === 'model_call').map(dataOf);
    expect(calls).toHaveLength(3);
    expect(calls[0]).toMatchObject({ cache_read_tokens: 0 });
    expect(calls[0]!.cache_write_5m_tokens).toBeGreaterThan(2_000);
    expect(calls[2]!.cache_read_tokens).toBeGreaterThan(2_000);
    const node = (await http.get<AgentNodeJson>('/agents/a')).body;
    const h = node.health;
    const sum = (k: string) => calls.reduce((n, c) => n + (c[k] as number), 0);
    expect(h).toMatchObject({
      input_tokens: sum('input_tokens'), cache_write_5m_tokens: sum('cache_write_5m_tokens'), cache_read_tokens: sum('cache_read_tokens'),
      output_tokens: sum('output_tokens'), cache_write_1h_tokens: 0,
    });
    // tokens_total leaves cache reads out; cost prices each kind at claude-haiku-4-5's rate.
    expect(h.tokens_total).toBe(h.input_tokens! + h.cache_write_5m_tokens! + h.output_tokens!);
    const expected = (h.input_tokens! * 1 + h.cache_write_5m_tokens! * 1.25 + h.cache_read_tokens! * 0.1 + h.output_tokens! * 5) / 1e6;
    expect(h.cost_usd).toBeCloseTo(expected, 7);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metric(metrics, 'auton_model_usage_tokens_total', { model: 'claude-haiku-4-5', kind: 'cache_read' })).toBe(h.cache_read_tokens);
    expect(metric(metrics, 'auton_model_usage_tokens_total', { model: 'claude-haiku-4-5', kind: 'cache_write_5m' })).toBe(h.cache_write_5m_tokens);
    expect(metric(metrics, 'auton_model_cost_usd_total', { model: 'claude-haiku-4-5' })).toBeCloseTo(expected, 6);
    log.close();
  });

  it("spec.prompt_cache '1h' writes 1-hour cache entries; 'off' sends no cache_control", async () => {
    ({ t, http } = await start());
    t.fake.setHandler(() => ({ kind: 'text', text: 'ok' }));
    await spawnAgent(http, null, 'hour', { spec: { goal: LONG_GOAL, prompt_cache: '1h' } });
    await spawnAgent(http, null, 'never', { spec: { goal: LONG_GOAL, prompt_cache: 'off' } });
    const hour = await waitForNode(http, 'hour', (n) => expect(n.health.cache_write_1h_tokens).toBeGreaterThan(1_000));
    expect(hour.health.cache_write_5m_tokens).toBe(0);
    await waitForNode(http, 'never', (n) => expect(n.state).toBe('idle'));
    expect(JSON.stringify(requestsOf(t, 'never')[0]!.raw)).not.toContain('cache_control');
    expect(JSON.stringify(requestsOf(t, 'hour')[0]!.raw)).toContain('"ttl":"1h"');
  });

  it('a provider without prompt caching is noticed: one warning, then requests without breakpoints, the agent unharmed', async () => {
    ({ t, http } = await start());
    t.fake.setCaching(false);
    t.fake.setHandler(() => ({ kind: 'text', text: 'ok' }));
    const long = 'Context the agent carries. '.repeat(700);
    await spawnAgent(http, null, 'a', { spec: { goal: long, instructions: long } });
    const log = await openLog(t, 'a');
    await nextState(log, 'idle', 10_000);
    for (let i = 0; i < 4; i++) {
      await http.post('/agents/a/message', { content: `message ${i}` });
      await waitForNode(http, 'a', () => expect(requestsOf(t, 'a')).toHaveLength(i + 2), 10_000);
      await waitForNode(http, 'a', (n) => expect(n.state).toBe('idle'));
    }
    const warnings = log.events.filter((e) => e.event === 'warning').map((e) => String(dataOf(e).detail));
    expect(warnings).toEqual([expect.stringContaining('no prompt caching')]);
    expect(JSON.stringify(requestsOf(t, 'a').at(-1)!.raw)).not.toContain('cache_control');
    expect((await http.get<AgentNodeJson>('/agents/a')).body.state).toBe('idle');
    log.close();
  });

  it('max_cost_usd suspends budget_exceeded right after the call that crossed it, and no call follows', async () => {
    ({ t, http } = await start());
    // $3 per million input tokens on claude-sonnet-4-6: each call below costs $3.
    t.fake.setHandler(() => ({ kind: 'tool_use', name: 'list_children', input: {}, usage: { input_tokens: 1_000_000, output_tokens: 0 } }));
    await spawnAgent(http, null, 'a', { policy: { budget: { max_cost_usd: 5 } } });
    const node = await waitForNode(http, 'a', (n) => expect(n.state).toBe('suspended'), 10_000);
    expect(node).toMatchObject({ suspend_reason: 'budget_exceeded', health: { cost_usd: 6 } });
    expect(requestsOf(t, 'a')).toHaveLength(2);
  });

  it('a model without a price shows cost_usd null with one warning, never a failure', async () => {
    ({ t, http } = await start());
    t.fake.setHandler(() => ({ kind: 'text', text: 'ok' }));
    await spawnAgent(http, null, 'a', { spec: { model: 'llama3.2:3b' } });
    const log = await openLog(t, 'a');
    await nextState(log, 'idle', 10_000);
    await http.post('/agents/a/message', { content: 'again' });
    await waitForNode(http, 'a', () => expect(requestsOf(t, 'a')).toHaveLength(2));
    const node = await waitForNode(http, 'a', (n) => expect(n.state).toBe('idle'));
    expect(node.health.cost_usd).toBeNull();
    expect(log.events.filter((e) => e.event === 'warning').map((e) => String(dataOf(e).detail))).toEqual([expect.stringContaining('no price for model llama3.2:3b')]);
    log.close();
  });
});

describe('per-agent model settings', () => {
  const start = daemonPerTest();

  it('max_tokens, instructions and thinking reach the request', async () => {
    const { t, http } = await start();
    t.fake.setHandler(() => ({ kind: 'text', text: 'ok' }));
    await spawnAgent(http, null, 'a', { spec: { max_tokens: 16_000, instructions: 'Answer in French.', thinking: { budget_tokens: 8_000 } } });
    await waitForNode(http, 'a', (n) => expect(n.state).toBe('idle'));
    const [req] = requestsOf(t, 'a');
    expect(req!.body.max_tokens).toBe(16_000);
    expect(String(req!.body.system)).toMatch(/Instructions from your operator:\nAnswer in French\.$/);
    expect(req!.body.thinking).toEqual({ type: 'enabled', budget_tokens: 8_000 });
  });

  it.each([
    ['max_tokens 0', { max_tokens: 0 }, /max_tokens/],
    ['max_tokens 1,000,000', { max_tokens: 1_000_000 }, /max_tokens/],
    ['a thinking budget under 1,024', { thinking: { budget_tokens: 500 } }, /budget_tokens/],
    ['a thinking budget not under max_tokens', { thinking: { budget_tokens: 8_000 } }, /budget_tokens must be less than max_tokens/],
    ['an unknown prompt_cache', { prompt_cache: 'forever' }, /prompt_cache/],
    ['instructions past 20,000 characters', { instructions: 'x'.repeat(20_001) }, /instructions/],
  ])('refuses a spec with %s: 400 naming the field', async (_name, spec, message) => {
    const { http } = await start();
    const res = await http.post<{ statusCode: number; message: string }>('/agents', { id: 'a', spec: { goal: 'g', ...spec } });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(message);
  });

  it('refuses a bad max_cost_usd or restart_window_seconds, and documents the new fields in /docs', async () => {
    const { http, t } = await start();
    for (const policy of [{ budget: { max_cost_usd: -1 } }, { restart_window_seconds: 0 }]) {
      expect((await http.post('/agents', { id: 'a', spec: { goal: 'g' }, policy })).status).toBe(400);
    }
    const doc = await (await fetch(`${t.url}/docs/json`)).text();
    for (const field of ['budget_tokens', 'max_tokens', 'instructions', 'prompt_cache', 'max_cost_usd', 'restart_window_seconds', 'cost_usd', 'cache_read_tokens']) {
      expect(doc).toContain(field);
    }
  });
});

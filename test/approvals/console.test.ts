import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { startFakeMessagesApi, type FakeMessagesApi } from '../support/fake-messages-api.js';

/** The console's pending-approvals panel in a real browser (as test/http/console-views.test.ts runs Chromium). */
const CHROMIUM = process.env.AUTON_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const eventually = <T>(fn: () => T | Promise<T>, timeoutMs = 5_000) => expect.poll(fn, { timeout: timeoutMs, interval: 50 });

describe('the console: pending approvals', () => {
  let dir: string;
  let daemon: Daemon;
  let fake: FakeMessagesApi;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const api = (method: string, path: string, body?: unknown) => fetch(`${daemon.url}${path}`, {
    method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });

  beforeAll(async () => {
    if (!hasChromium) return;
    dir = mkdtempSync(join(tmpdir(), 'auton-console-approvals-'));
    fake = await startFakeMessagesApi();
    let n = 0;
    // Each agent's first call asks for list_children; everything after it hangs (a model thinking).
    fake.setHandler(() => (++n <= 2 ? { kind: 'tool_use', name: 'list_children', input: { n }, id: `toolu_console_${n}` } : { kind: 'hang' }));
    daemon = await startDaemon(loadConfig({
      AUTON_PORT: '0', AUTON_DB: join(dir, 'auton.db'), ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: fake.url, AUTON_JUDGE_EVERY_TURNS: '0',
    }), { logger: false });
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1440, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(5_000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  afterAll(async () => {
    await context?.close();
    await daemon?.close();
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!hasChromium)('shows held calls as they arrive, and Approve / Deny decide them', async () => {
    await page.goto(daemon.url);
    await expect.poll(() => page.locator('#approvals-panel').isHidden()).toBe(true);
    const ask = { approvals: [{ tool: 'list_children', decision: 'ask' }] };
    expect((await api('POST', '/agents', { id: 'a', spec: { goal: 'g' }, policy: ask })).status).toBe(201);
    expect((await api('POST', '/agents', { id: 'b', spec: { goal: 'g' }, policy: ask })).status).toBe(201);
    const items = page.locator('#approvals li.approval');
    await eventually(() => items.count()).toBe(2);
    await expect.poll(() => page.locator('#approvals-panel').isVisible()).toBe(true);
    const forA = items.filter({ hasText: 'list_children for a' });
    await forA.getByRole('button', { name: 'Approve' }).click();
    await eventually(() => items.count()).toBe(1);
    await items.first().getByRole('button', { name: 'Deny' }).click();
    await eventually(() => page.locator('#approvals-panel').isHidden()).toBe(true);
    // Both agents call again, each with its tool result: one ran, one was refused.
    const results = () => fake.requests.slice(2).map((r) => JSON.stringify(r.body.messages.at(-1)));
    await eventually(() => results().length).toBe(2);
    expect(results().filter((m) => m.includes('"is_error":true') && m.includes('denied this list_children call'))).toHaveLength(1);
    expect(pageErrors).toEqual([]);
  });
});

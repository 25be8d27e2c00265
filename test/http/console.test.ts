import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { startFakeMessagesApi, type FakeMessagesApi } from '../support/fake-messages-api.js';

/**
 * The operator console in a real browser (Debian's Chromium driven by playwright-core) against the real
 * daemon. Without Chromium these tests report themselves as skipped; `.ci/run` installs it.
 */
const CHROMIUM = process.env.AUTON_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const needs = hasChromium ? '' : ` [skipped: no Chromium at ${CHROMIUM}]`;
/** The README's screenshot: written when missing or with AUTON_UPDATE_SCREENSHOT=1, so a test run leaves the tree clean. */
const SCREENSHOT = join(import.meta.dirname, '../../docs/console.png');
const writeScreenshot = process.env.AUTON_UPDATE_SCREENSHOT === '1' || !existsSync(SCREENSHOT);
/** The console polls only for new roots and the selected agent: a child's arrival and state come over its root's stream. */
const LIVE_MS = 2_000;

const eventually = <T>(fn: () => T | Promise<T>, timeoutMs = 4_000) => expect.poll(fn, { timeout: timeoutMs, interval: 50 });

describe('operator console', () => {
  let dir: string;
  let daemon: Daemon;
  let fake: FakeMessagesApi;
  let context: BrowserContext;
  let page: Page;
  const foreignRequests: string[] = [];
  const observeRequests: Array<{ url: string; lastEventId: string | undefined }> = [];
  const pageErrors: string[] = [];

  const row = (path: string) => page.locator(`#tree-body tr[data-path="${path}"]`);
  const dialog = () => page.locator('#form-dialog');
  const api = (method: string, path: string, body?: unknown) => fetch(`${daemon.url}${path}`, {
    method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });

  beforeAll(async () => {
    if (!hasChromium) return;
    dir = mkdtempSync(join(tmpdir(), 'auton-console-'));
    // Agents think forever (the fake Messages API never answers), so every state change is the page's or the test's.
    fake = await startFakeMessagesApi();
    fake.setHandler(() => ({ kind: 'hang' }));
    daemon = await startDaemon(loadConfig({
      AUTON_PORT: '0', AUTON_DB: join(dir, 'auton.db'), ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: fake.url, AUTON_JUDGE_EVERY_TURNS: '0',
    }), { logger: false });
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1440, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(5_000);
    page.on('request', (req) => {
      if (!req.url().startsWith(daemon.url) && !req.url().startsWith('data:')) foreignRequests.push(req.url());
      if (req.url().endsWith('/observe?tokens=true')) observeRequests.push({ url: req.url(), lastEventId: req.headers()['last-event-id'] });
    });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    // Refused API calls are logged by Chromium as failed loads; anything else (a CSP refusal, say) is a fault.
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) pageErrors.push(msg.text());
    });
  });

  afterAll(async () => {
    await context?.close();
    await daemon?.close();
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!hasChromium)(`serves the console at / from the daemon alone, hidden from the OpenAPI document${needs}`, async () => {
    const res = await page.goto(`${daemon.url}/`);
    expect(res?.status()).toBe(200);
    await eventually(() => page.locator('#conn').getAttribute('data-state')).toBe('live');
    await eventually(() => page.locator('#tree-empty').isVisible()).toBe(true);
    expect(foreignRequests).toEqual([]);
    const doc = (await (await api('GET', '/docs/json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => !p.startsWith('/agents') && !p.startsWith('/oversight') && p !== '/approvals' && !/^\/(healthz|readyz|metrics|mcp\/servers|cluster)$/.test(p))).toEqual([]);
    expect((await api('GET', '/no-such-page')).status).toBe(404);
  });

  it.skipIf(!hasChromium)(`spawns a root agent from the form and shows it in the tree${needs}`, async () => {
    await page.getByRole('button', { name: 'Spawn agent' }).click();
    await eventually(() => dialog().isVisible()).toBe(true);
    await page.getByLabel('Id', { exact: true }).fill('researcher');
    await page.getByLabel('Goal').fill('Monitor arXiv daily for papers on agent architectures');
    await page.getByLabel('Tools').fill('web_search, fetch_webpage');
    await dialog().getByRole('button', { name: 'Spawn' }).click();
    await eventually(() => dialog().isVisible()).toBe(false);
    await eventually(() => row('researcher').locator('.state').textContent()).toBe('running');
    // The new agent is selected: its detail shows the spec as sent.
    await eventually(() => page.locator('#detail-title').textContent()).toBe('researcher');
    await eventually(() => page.locator('#detail .kv').first().textContent()).toContain('web_search, fetch_webpage');
  });

  it.skipIf(!hasChromium)(`shows changes made elsewhere as they happen, over the root's event stream${needs}`, async () => {
    expect((await api('POST', '/agents/researcher', { id: 'summarizer', spec: { goal: 'Summarize papers found by parent' } })).status).toBe(201);
    await eventually(() => row('researcher/summarizer').locator('.state').textContent(), LIVE_MS).toBe('running');
    expect((await api('POST', '/agents/researcher/summarizer/suspend', { reason: 'loop_detected', detail: 'same search three times' })).status).toBe(200);
    await eventually(() => row('researcher/summarizer').locator('td.reason').textContent(), LIVE_MS).toBe('loop_detected');
  });

  it.skipIf(!hasChromium)(`suspends with a reason and resumes from the page, the state arriving live${needs}`, async () => {
    await page.getByRole('button', { name: 'Suspend', exact: true }).click();
    await dialog().getByLabel('Reason').selectOption('drift_detected');
    await dialog().getByLabel('Detail').fill('wandered into general ML');
    await dialog().getByRole('button', { name: 'Suspend' }).click();
    const badge = row('researcher').locator('.state');
    await eventually(() => badge.textContent()).toBe('suspended');
    await eventually(() => badge.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(255, 228, 214)');
    await eventually(() => row('researcher').locator('td.reason').textContent()).toBe('drift_detected');
    await eventually(() => page.locator('#detail .suspend-reason').textContent()).toBe('Suspended: drift detected — wandered into general ML');
    expect(await page.getByRole('button', { name: 'Resume' }).isEnabled()).toBe(true);

    await page.getByRole('button', { name: 'Resume' }).click();
    await dialog().getByRole('button', { name: 'Resume' }).click(); // an agent with children: asked about its subtree
    await eventually(() => badge.textContent()).toBe('running');
    await eventually(() => badge.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(220, 245, 229)');
    expect(await row('researcher').locator('td.reason').textContent()).toBe('—');
    expect(await page.locator('#detail .suspend-reason').isHidden()).toBe(true);
  });

  it.skipIf(!hasChromium)(`shows the agent's live log, checkpoints and a filtered tree${needs}`, async () => {
    await page.getByRole('button', { name: 'Checkpoint' }).click();
    await dialog().getByRole('button', { name: 'Checkpoint' }).click();
    await eventually(() => page.locator('.cp-table tbody tr').count()).toBe(1);
    const types = () => page.locator('#detail .log .log-type').allTextContents();
    await eventually(types).toEqual(['spawned', 'state_change', 'state_change', 'suspended', 'state_change', 'resumed', 'checkpoint']);
    const texts = await page.locator('#detail .log .log-text').allTextContents();
    expect(texts[3]).toBe('drift_detected — wandered into general ML · by operator');
    expect(texts[4]).toBe('suspended → running · by operator');
    // The log is per agent: the child's suspension is not in the parent's log.
    expect(texts.join('\n')).not.toContain('loop_detected');

    await page.getByLabel('State').selectOption('suspended');
    await eventually(() => page.locator('#tree-body tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-path')))).toEqual(['researcher/summarizer']);
    await page.getByLabel('State').selectOption('all');
    await page.getByLabel('Path').fill('summ');
    await eventually(() => page.locator('#tree-body tr').count()).toBe(1);
    await page.getByLabel('Path').fill('');
    await eventually(() => page.locator('#tree-body tr').count()).toBe(2);
  });

  it.skipIf(!hasChromium)(`shows the API's own message when the API refuses${needs}`, async () => {
    const refused = await api('POST', '/agents', { id: 'researcher', spec: { goal: 'again' } });
    expect(refused.status).toBe(409);
    const { message } = (await refused.json()) as { message: string };

    await page.getByRole('button', { name: 'Spawn agent' }).click();
    await page.getByLabel('Id', { exact: true }).fill('researcher');
    await page.getByLabel('Goal').fill('A second researcher with the same id');
    await dialog().getByRole('button', { name: 'Spawn' }).click();
    await eventually(() => dialog().locator('.form-error').textContent()).toBe(`409 Conflict: ${message}`);
    expect(await dialog().isVisible()).toBe(true);
    await dialog().getByRole('button', { name: 'Cancel' }).click();
    await eventually(() => dialog().isVisible()).toBe(false);
    expect(pageErrors).toEqual([]);
  });

  it.skipIf(!hasChromium)(`asks once for an API key on a 401 and sends it as a Bearer token from then on${needs}`, async () => {
    const tab = await context.newPage();
    const authorizations: string[] = [];
    await tab.route(`${daemon.url}/agents**`, async (route) => {
      const auth = route.request().headers().authorization;
      authorizations.push(auth ?? '');
      if (auth !== 'Bearer s3cret') {
        return route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ statusCode: 401, error: 'Unauthorized', message: 'missing or wrong API key' }) });
      }
      return route.continue();
    });
    await tab.goto(`${daemon.url}/`);
    const keyDialog = tab.locator('#key-dialog');
    await eventually(() => keyDialog.isVisible()).toBe(true);
    // Cancelled: the 401 is shown as the API's message, and the console stops asking until told to.
    await keyDialog.getByRole('button', { name: 'Cancel' }).click();
    await eventually(() => tab.locator('#notice').textContent()).toContain('401 Unauthorized: missing or wrong API key');
    await tab.getByRole('button', { name: 'Enter API key' }).click();
    await eventually(() => keyDialog.isVisible()).toBe(true);
    await keyDialog.getByLabel('API key').fill('s3cret');
    await keyDialog.getByRole('button', { name: 'Use key' }).click();
    await eventually(() => tab.locator('#tree-body tr').count()).toBe(2);
    await eventually(() => tab.locator('#conn').getAttribute('data-state')).toBe('live');
    expect(await tab.evaluate(() => sessionStorage.getItem('auton.apiKey'))).toBe('s3cret');
    expect(await tab.evaluate(() => localStorage.length)).toBe(0);
    expect(await tab.getByRole('button', { name: 'Forget API key' }).isVisible()).toBe(true);
    const after = authorizations.slice(authorizations.indexOf('Bearer s3cret'));
    expect(after.length).toBeGreaterThan(1);
    expect(after.every((a) => a === 'Bearer s3cret')).toBe(true);
    await tab.close();
  });

  it.skipIf(!hasChromium)(`reconnects a dropped stream with Last-Event-ID and catches up on what it missed${needs}`, async () => {
    const before = observeRequests.length;
    daemon.app.server.closeAllConnections();
    // (this client's own kept-alive socket was dropped too: one retry)
    const resume = () => api('POST', '/agents/researcher/summarizer/resume');
    expect((await resume().catch(resume)).status).toBe(200);
    await eventually(() => page.locator('#conn').getAttribute('data-state')).toBe('retrying');
    await eventually(() => page.locator('#conn').getAttribute('data-state')).toBe('live');
    const again = observeRequests.slice(before).find((r) => r.url === `${daemon.url}/agents/researcher/observe?tokens=true`);
    expect(again?.lastEventId).toMatch(/^\d+$/);
    await eventually(() => row('researcher/summarizer').locator('.state').textContent()).toBe('running');
    expect(await row('researcher/summarizer').locator('td.reason').textContent()).toBe('—');
  });

  it.skipIf(!hasChromium)(`shows model activity as it happens: tokens counted, the agent idle${needs}`, async () => {
    fake.setHandler(() => ({ kind: 'text', text: 'Found three new papers on agent memory.', usage: { input_tokens: 1200, output_tokens: 340 } }));
    expect((await api('POST', '/agents', { id: 'curator', spec: { goal: 'Curate a weekly digest of agent papers' } })).status).toBe(201);
    expect((await api('POST', '/agents/curator', { id: 'digest', spec: { goal: 'Write the digest' } })).status).toBe(201);
    // A new root is found by the console's poll; its child and their model calls then arrive over its stream.
    await eventually(() => row('curator/digest').locator('.state').textContent(), 5_000).toBe('idle');
    await eventually(() => row('curator/digest').locator('td.tokens .v').textContent()).toBe('1.5k');
    await row('curator').locator('.agent-link').click();
    await eventually(() => page.locator('#detail .log .log-entry[data-type=model_call] .log-text').first().textContent())
      .toBe('claude-sonnet-4-6 · end_turn · 1540 tokens · $0.0087 · “Found three new papers on agent memory.”');
    await row('researcher').locator('.agent-link').click();
    await eventually(() => page.locator('#detail-title').textContent()).toBe('researcher');
    expect(pageErrors).toEqual([]);

    // The README's screenshot: the researcher's detail next to a tree in several states.
    expect((await api('POST', '/agents/researcher/summarizer/suspend', { reason: 'loop_detected', detail: 'same search three times' })).status).toBe(200);
    await eventually(() => row('researcher/summarizer').locator('td.reason').textContent(), LIVE_MS).toBe('loop_detected');
    await page.mouse.move(700, 880);
    const png = await page.screenshot();
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    if (writeScreenshot) {
      mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
      writeFileSync(SCREENSHOT, png);
    }
  });

  it.skipIf(!hasChromium)(`suspends a whole subtree from the page with the "whole subtree" choice${needs}`, async () => {
    expect((await api('POST', '/agents', { id: 'team', spec: { goal: 'lead' } })).status).toBe(201);
    expect((await api('POST', '/agents/team', { id: 'member', spec: { goal: 'help' } })).status).toBe(201);
    await eventually(() => row('team/member').locator('.state').textContent(), LIVE_MS).toMatch(/^(running|idle)$/);
    await row('team').locator('.agent-link').click();
    await eventually(() => page.locator('#detail-title').textContent()).toBe('team');
    await page.getByRole('button', { name: 'Suspend', exact: true }).click();
    await dialog().getByLabel('Whole subtree (every live descendant too)').check();
    await dialog().getByRole('button', { name: 'Suspend' }).click();
    await eventually(() => row('team/member').locator('.state').textContent(), LIVE_MS).toBe('suspended');
    await eventually(() => row('team').locator('.state').textContent()).toBe('suspended');
  });
});

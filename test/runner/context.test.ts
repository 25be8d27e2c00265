import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUMMARISER_SYSTEM } from '../../src/context/compaction.js';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { spawnAgent } from '../support/daemon.js';
import type { FakeReply, RecordedRequest } from '../support/fake-messages-api.js';
import { dataOf } from '../support/sse-client.js';
import { daemonPerTest, expectToolUsesAnswered, openLog, record, requestPath, requestsOf, waitForNode } from './runner-support.js';

/** A local site whose every page is ~20,000 characters (about 5,000 tokens), different per URL. */
let site: Server;
let siteUrl = '';
beforeAll(async () => {
  site = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${req.url} `.repeat(Math.ceil(20_000 / ((req.url ?? '').length + 1))).slice(0, 19_990));
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => site.close(() => resolve())));

const isSummariser = (req: RecordedRequest): boolean => req.body.system === SUMMARISER_SYSTEM;

/** The agent reads page after page; the summariser answers with a short summary. */
function reader(pages: { n: number }): (req: RecordedRequest) => FakeReply {
  return (req) => {
    if (isSummariser(req)) return { kind: 'text', text: `I have read pages up to ${pages.n}; the tides rise twice a day.` };
    if (requestPath(req) !== 'reader') return { kind: 'hang' };
    pages.n += 1;
    return { kind: 'tool_use', name: 'fetch_webpage', input: { url: `${siteUrl}/page-${pages.n}` } };
  };
}

describe('a context that always fits', () => {
  const start = daemonPerTest();

  it('an agent reading ~5,000-token pages for 100+ calls never exceeds the window and is never suspended', async () => {
    const { t, http } = await start({ AUTON_MAX_TURN_STEPS: '1000', AUTON_FETCH_ALLOW: '127.0.0.1' });
    const pages = { n: 0 };
    t.fake.setHandler(reader(pages));
    await spawnAgent(http, null, 'reader', { spec: { tools: ['fetch_webpage'] } });
    const log = await openLog(t, 'reader');
    await waitForNode(http, 'reader', () => expect(pages.n).toBeGreaterThanOrEqual(110), 120_000);
    const node = (await http.get<AgentNodeJson>('/agents/reader')).body;
    expect(node.state).toBe('running');
    const agentRequests = requestsOf(t, 'reader');
    for (const req of agentRequests) {
      expect(t.fake.countTokens(req.body)).toBeLessThanOrEqual(200_000);
      expectToolUsesAnswered(req);
    }
    const compacted = log.events.filter((e) => e.event === 'compacted').map(dataOf);
    expect(compacted.length).toBeGreaterThanOrEqual(2);
    expect(compacted[0]).toMatchObject({ trigger: 'threshold' });
    expect(compacted[0]!.turns_in).toBeGreaterThan(10);
    expect(compacted[0]!.prompt_tokens_after).toBeLessThan(compacted[0]!.prompt_tokens_before as number);
    expect(log.events.some((e) => e.event === 'suspended')).toBe(false);
    // The summary is what the agent continues from.
    expect(JSON.stringify(agentRequests.at(-1)!.body.messages[0])).toContain('I have read pages up to');
    expect(node.health.cache_read_tokens).toBeGreaterThan(node.health.input_tokens! * 5);
    log.close();
  }, 180_000);

  it('a `prompt is too long` answer compacts and retries, and the agent carries on', async () => {
    const { t, http } = await start({ AUTON_MAX_TURN_STEPS: '1000', AUTON_FETCH_ALLOW: '127.0.0.1' });
    // The daemon believes 200,000 tokens; the provider allows 60,000: only its 400 can tell.
    t.fake.setContextWindow(60_000);
    const pages = { n: 0 };
    t.fake.setHandler(reader(pages));
    await spawnAgent(http, null, 'reader', { spec: { tools: ['fetch_webpage'] } });
    const log = await openLog(t, 'reader');
    const compacted = await log.next((e) => e.event === 'compacted', 60_000);
    expect(dataOf(compacted)).toMatchObject({ trigger: 'prompt_too_long' });
    const before = pages.n;
    await waitForNode(http, 'reader', () => expect(pages.n).toBeGreaterThan(before + 3), 60_000);
    expect((await http.get<AgentNodeJson>('/agents/reader')).body.state).toBe('running');
    expect(log.events.some((e) => e.event === 'suspended')).toBe(false);
    log.close();
  }, 120_000);

  it('suspends with a plain reason only when compaction cannot make it fit', async () => {
    const { t, http } = await start();
    t.fake.setContextWindow(3_000);
    t.fake.setHandler((req) => (isSummariser(req) ? { kind: 'text', text: 'summary' } : { kind: 'text', text: 'ok' }));
    await spawnAgent(http, null, 'big', { spec: { goal: 'x'.repeat(15_000) } });
    const node = await waitForNode(http, 'big', (n) => expect(n.state).toBe('suspended'));
    expect(node.suspend_reason).toBe('execution_error');
    expect(node.error_message).toMatch(/no longer fits claude-sonnet-4-6's context window even after compaction/);
  });

  it('a `model_context_window_exceeded` stop drops the cut-off reply, compacts and asks again', async () => {
    const { t, http } = await start({ AUTON_MAX_TURN_STEPS: '1000', AUTON_FETCH_ALLOW: '127.0.0.1' });
    const pages = { n: 0 };
    const read = reader(pages);
    let stopped = false;
    t.fake.setHandler((req) => {
      if (!isSummariser(req) && requestPath(req) === 'reader' && pages.n === 6 && !stopped) {
        stopped = true;
        return { kind: 'text', text: 'The tides are', stopReason: 'model_context_window_exceeded' };
      }
      return read(req);
    });
    await spawnAgent(http, null, 'reader', { spec: { tools: ['fetch_webpage'] } });
    const log = await openLog(t, 'reader');
    expect(dataOf(await log.next((e) => e.event === 'compacted', 30_000))).toMatchObject({ trigger: 'context_window_exceeded' });
    await waitForNode(http, 'reader', () => expect(pages.n).toBeGreaterThan(8), 30_000);
    expect(record(t, 'reader').conversation.toArray().some((turn) => turn.includes('The tides are'))).toBe(false);
    log.close();
  }, 60_000);
});

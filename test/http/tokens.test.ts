import { describe, expect, it } from 'vitest';
import { anthropicClient, requestJson } from '../../src/model/client.js';
import { PriceTable } from '../../src/usage/pricing.js';
import { parseUsage, usageJson } from '../../src/usage/usage.js';
import { spawnAgent } from '../support/daemon.js';
import type { FakeReply } from '../support/fake-messages-api.js';
import { dataOf, openSse, type ParsedEvent, type SseConnection } from '../support/sse-client.js';
import { daemonPerTest, gate, nextState, waitForNode } from '../runner/runner-support.js';

const LONG_TEXT = 'The tide comes in twice a day, and the survey waits for the low one. '.repeat(12).trim();
const MODEL = 'claude-haiku-4-5';

const tokensOf = (stream: SseConnection): ParsedEvent[] => stream.events.filter((e) => e.event === 'token');
const textOf = (events: ParsedEvent[]): string => events.map((e) => String(dataOf(e).text)).join('');

describe('live tokens', () => {
  const start = daemonPerTest();

  it('/observe?tokens=true gets the reply as token events, in order, without ids; a stream without the flag gets none', async () => {
    const { t, http } = await start();
    const held = gate();
    t.fake.setHandler(() => held.reply);
    await spawnAgent(http, null, 'a', { spec: { model: MODEL } });
    await t.fake.waitForRequests(1);
    const live = await openSse(`${t.url}/agents/a/observe?tokens=true`);
    const plain = await openSse(`${t.url}/agents/a/observe`);
    const log = await openSse(`${t.url}/agents/a/log?tokens=true`);
    held.release({ kind: 'text', text: LONG_TEXT, pacing: { chunkChars: 16 } });

    const call = dataOf(await live.next('model_call'));
    await plain.next('model_call');
    await log.next('model_call');
    const tokens = tokensOf(live);
    expect(tokens.length).toBeGreaterThanOrEqual(Math.floor(LONG_TEXT.length / 16));
    expect(textOf(tokens)).toBe(LONG_TEXT);
    expect(call.text).toBe(LONG_TEXT.slice(0, 500));
    expect(tokens.every((e) => e.id === undefined)).toBe(true);
    expect(tokens.map((e) => dataOf(e))).toEqual(tokens.map((_, i) => expect.objectContaining({ path: 'a', index: 0, ...(i === 0 ? { start: true } : {}) })));
    expect(dataOf(tokens[1]!).start).toBeUndefined();
    // Every token comes before the model_call that closes the reply.
    expect(live.events.findIndex((e) => e.event === 'model_call')).toBeGreaterThan(live.events.indexOf(tokens.at(-1)!));
    expect(textOf(tokensOf(log))).toBe(LONG_TEXT);
    expect(tokensOf(plain)).toEqual([]);
    // A client that reconnects with the last id it saw before the reply gets the durable events again, no token.
    const before = log.events.slice(0, log.events.findIndex((e) => e.event === 'model_call')).filter((e) => e.id !== undefined).at(-1)!.id!;
    const again = await openSse(`${t.url}/agents/a/observe?tokens=true`, { lastEventId: before });
    await again.next('model_call');
    expect(tokensOf(again)).toEqual([]);
    for (const s of [live, plain, log, again]) s.close();
  });

  it('a tokens flag other than true or false is a 400 naming it; /docs lists the flag and the token event', async () => {
    const { t, http } = await start();
    await spawnAgent(http, null, 'a');
    const res = await openSse(`${t.url}/agents/a/observe?tokens=yes`);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/tokens/);
    type Op = { parameters?: Array<{ name: string; in: string }>; description?: string; responses: Record<string, { content?: Record<string, unknown> }> };
    const doc = (await http.get<{ paths: Record<string, { get: Op }> }>('/docs/json')).body;
    for (const route of ['/agents/{path}/observe', '/agents/{path}/log']) {
      const op = doc.paths[route]!.get;
      expect(op.parameters).toContainEqual(expect.objectContaining({ name: 'tokens', in: 'query' }));
      expect(op.description).toMatch(/`token` \(path, text, index/);
      expect(Object.keys(op.responses['200']!.content!)).toEqual(['text/event-stream']);
    }
  });

  it('suspending mid-reply aborts the call, and no token follows the suspension', async () => {
    const { t, http } = await start();
    const rest = gate();
    const first = gate();
    t.fake.setHandler(() => first.reply);
    await spawnAgent(http, null, 'a', { spec: { model: MODEL } });
    await t.fake.waitForRequests(1);
    const live = await openSse(`${t.url}/agents/a/observe?tokens=true`);
    first.release({ kind: 'text', text: LONG_TEXT, pacing: { chunkChars: 10, holdAfter: 3, hold: rest.reply } });
    await live.next((e) => e.event === 'token' && tokensOf(live).length === 3);
    t.fake.setHandler(() => ({ kind: 'hang' }));

    expect((await http.post('/agents/a/suspend', { reason: 'manual' })).status).toBe(200);
    await nextState(live, 'suspended');
    await waitForNode(http, 'a', () => expect(t.fake.requests[0]!.aborted).toBe(true));
    rest.release({ kind: 'text', text: '' });
    // A durable event after the suspension: had any token slipped through, it would come before this one.
    await http.post('/agents/a/message', { content: 'later' });
    await live.next('message');
    const suspendedAt = live.events.findIndex((e) => e.event === 'state_change' && dataOf(e).to === 'suspended');
    expect(live.events.slice(suspendedAt).filter((e) => e.event === 'token')).toEqual([]);
    expect(textOf(tokensOf(live))).toBe(LONG_TEXT.slice(0, 30));
    expect(live.events.some((e) => e.event === 'model_call')).toBe(false);
    live.close();
  });

  it('usage and cost of a streamed call are those of the same reply not streamed', async () => {
    const { t, http } = await start();
    const usage = { input_tokens: 1_234, output_tokens: 321, cache_creation_input_tokens: 2_000, cache_read_input_tokens: 5_000 };
    const reply: FakeReply = { kind: 'text', text: LONG_TEXT, usage, pacing: { chunkChars: 40 } };
    // The same reply, not streamed, straight from the SDK.
    t.fake.setHandler(() => reply);
    const direct = await anthropicClient({ apiKey: 'test-key', baseURL: t.fake.url, maxRetries: 0, timeoutMs: 10_000 })
      .create(requestJson({ model: MODEL, max_tokens: 100 }, ['{"role":"user","content":"hi"}']), new AbortController().signal);
    const figures = parseUsage(direct.usage).figures;
    const cost = PriceTable.load().costOf(MODEL, figures);

    const held = gate();
    t.fake.setHandler(() => held.reply);
    await spawnAgent(http, null, 'a', { spec: { model: MODEL } });
    await t.fake.waitForRequests(2);
    expect(t.fake.requests[1]!.raw.stream).toBe(true);
    const live = await openSse(`${t.url}/agents/a/observe?tokens=true`);
    held.release(reply);
    const call = dataOf(await live.next('model_call'));
    expect(tokensOf(live).length).toBeGreaterThan(1);
    expect(call).toMatchObject({ ...usageJson(figures), cost_usd: cost });
    expect(call.cache_read_tokens).toBe(5_000);
    live.close();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicClient, describeFailure, isAbort, isTransient, requestJson, type ModelClient } from '../../src/model/client.js';
import { startFakeMessagesApi, type FakeMessagesApi, type FakeReply } from '../support/fake-messages-api.js';
import { gate } from './runner-support.js';

const TURN = '{"role":"user","content":"survey the coast"}';
const body = (stream: boolean) => requestJson({ model: 'claude-haiku-4-5', max_tokens: 1_000, ...(stream ? { stream: true as const } : {}) }, [TURN]);
const signal = () => new AbortController().signal;

/** A message without what differs between two calls (its id). */
const sameParts = (m: { id: string }) => ({ ...m, id: 'msg' });

describe('streamed model calls (the real SDK against the fake Messages API)', () => {
  let fake: FakeMessagesApi;
  let model: ModelClient;
  beforeAll(async () => {
    fake = await startFakeMessagesApi();
    model = anthropicClient({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 0, timeoutMs: 10_000 });
  });
  afterAll(() => fake.close());

  it('assembles the same message as a call not streamed: text, tool calls with inputs, usage with cache fields', async () => {
    const usage = { input_tokens: 900, output_tokens: 77, cache_creation_input_tokens: 120, cache_read_input_tokens: 4_000 };
    const replies: FakeReply[] = [
      { kind: 'tool_use', name: 'fetch_webpage', input: { url: 'https://example.com/a', notes: ['x', { deep: true }] }, id: 'toolu_1', text: 'Let me look that up, carefully.', usage },
      { kind: 'text', text: 'A reply long enough to come in several deltas: '.repeat(5), usage, pacing: { chunkChars: 7 } },
      { kind: 'empty', usage },
    ];
    for (const reply of replies) {
      fake.enqueue(reply, reply);
      const whole = await model.create(body(false), signal());
      const deltas: Array<[string, number]> = [];
      const streamed = await model.stream(body(true), signal(), (text, index) => deltas.push([text, index]));
      expect(sameParts(streamed)).toEqual(sameParts(whole));
      const text = whole.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('');
      expect(deltas.map(([t]) => t).join('')).toBe(text);
      expect(new Set(deltas.map(([, i]) => i))).toEqual(new Set(text ? [0] : []));
    }
    expect(fake.requests.at(-1)!.raw.stream).toBe(true);
  });

  it('an error answered before the stream starts is the same typed error as without streaming', async () => {
    fake.enqueue({ kind: 'error', status: 400, message: 'prompt is too long: 250000 tokens > 200000 maximum' });
    const error = await model.stream(body(true), signal(), () => {}).catch((e: unknown) => e);
    expect(isTransient(error)).toBe(false);
    expect(describeFailure(error)).toMatch(/prompt is too long/);
  });

  it('aborting mid-stream ends the call as an abort and closes the connection', async () => {
    const rest = gate();
    fake.enqueue({ kind: 'text', text: 'x'.repeat(200), pacing: { chunkChars: 10, holdAfter: 2, hold: rest.reply } });
    const controller = new AbortController();
    let seen = 0;
    const call = model.stream(body(true), controller.signal, () => {
      if (++seen === 2) controller.abort();
    });
    const error = await call.catch((e: unknown) => e);
    expect(isAbort(error)).toBe(true);
    expect(seen).toBe(2);
    await expect.poll(() => fake.requests.at(-1)!.aborted).toBe(true);
    rest.release({ kind: 'empty' });
  });

  it('a stream that stalls mid-reply fails the call after the call timeout, as a timeout, worth a restart', async () => {
    const stalled = anthropicClient({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 0, timeoutMs: 1_000 });
    const never = gate();
    fake.enqueue({ kind: 'text', text: 'z'.repeat(100), pacing: { chunkChars: 10, holdAfter: 2, hold: never.reply } });
    const deltas: string[] = [];
    const error = await stalled.stream(body(true), signal(), (text) => deltas.push(text)).catch((e: unknown) => e);
    expect(deltas).toEqual(['z'.repeat(10), 'z'.repeat(10)]);
    expect(describeFailure(error)).toMatch(/sent nothing for 1000 ms \(AUTON_MODEL_TIMEOUT_MS\)/);
    expect(isTransient(error)).toBe(true);
    expect(isAbort(error)).toBe(false);
    never.release({ kind: 'empty' });
  });

  it('a streamed reply past AUTON_MODEL_MAX_REPLY_BYTES ends the call with the limit named, not restarted', async () => {
    const capped = anthropicClient({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 0, timeoutMs: 10_000, maxReplyBytes: 4_096 });
    // Paced, so sent without a content-length: the cap is met while the stream is read.
    fake.enqueue({ kind: 'text', text: 'y'.repeat(20_000), pacing: { chunkChars: 500 } });
    const deltas: string[] = [];
    const error = await capped.stream(body(true), signal(), (text) => deltas.push(text)).catch((e: unknown) => e);
    expect(describeFailure(error)).toMatch(/AUTON_MODEL_MAX_REPLY_BYTES \(4096 bytes\)/);
    expect(isTransient(error)).toBe(false);
    expect(deltas.join('').length).toBeLessThan(4_096);
  });
});

import Anthropic, { APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startFakeMessagesApi, type FakeMessagesApi } from './fake-messages-api.js';

const MODEL = 'claude-test-model';
const USER_MSG: Anthropic.MessageParam = { role: 'user', content: 'hello there' };
const TOOLS: Anthropic.Tool[] = [
  { name: 'read_file', description: 'Read a file', input_schema: { type: 'object', properties: { path: { type: 'string' } } } },
];

describe('fake Messages API', () => {
  let fake: FakeMessagesApi;
  let client: Anthropic;
  const params = { model: MODEL, max_tokens: 256, messages: [USER_MSG] };

  beforeAll(async () => {
    fake = await startFakeMessagesApi();
    client = new Anthropic({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 0 });
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it('answers "ok" by default and records the request', async () => {
    const msg = await client.messages.create({ ...params, system: 'be brief', tools: TOOLS });
    expect(msg.type).toBe('message');
    expect(msg.role).toBe('assistant');
    expect(msg.id).toMatch(/^msg_/);
    expect(msg.model).toBe(MODEL);
    expect(msg.stop_reason).toBe('end_turn');
    expect(msg.content).toEqual([{ type: 'text', text: 'ok', citations: null }]);
    expect(msg.usage).toMatchObject({ input_tokens: 10, output_tokens: 5 });
    expect(msg._request_id).toMatch(/^req_/);

    expect(fake.requests).toHaveLength(1);
    const { body, headers, aborted } = fake.requests[0]!;
    expect(body.messages).toEqual([USER_MSG]);
    expect(body.system).toBe('be brief');
    expect(body.tools).toEqual(TOOLS);
    expect(body.max_tokens).toBe(256);
    // SDK 1.x sends the api key as a Bearer token, not x-api-key.
    expect(headers.authorization).toBe('Bearer test-key');
    expect(aborted).toBe(false);
  });

  it('serves queued text replies in order with custom usage, then falls back to the handler', async () => {
    fake.enqueue({ kind: 'text', text: 'first', usage: { input_tokens: 7, output_tokens: 3 } }, { kind: 'text', text: 'second' });
    fake.setHandler((req) => ({ kind: 'text', text: `handled ${req.body.messages.length}` }));
    const texts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const msg = await client.messages.create(params);
      const block = msg.content[0];
      texts.push(block?.type === 'text' ? block.text : '');
      if (i === 0) expect(msg.usage).toMatchObject({ input_tokens: 7, output_tokens: 3 });
    }
    expect(texts).toEqual(['first', 'second', 'handled 1']);
    expect(new Set(fake.requests.map((r) => r.body.model)).size).toBe(1);
  });

  it('returns tool_use blocks with stop_reason tool_use and round-trips the input', async () => {
    const input = { path: '/tmp/a.txt', opts: { lines: [1, 2, 3], follow: true }, note: 'ünïcødé ✓ 🚀' };
    fake.enqueue({ kind: 'tool_use', name: 'read_file', input, text: 'Let me look.' });
    const msg = await client.messages.create({ ...params, tools: TOOLS });
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'Let me look.' });
    const tool = msg.content[1];
    expect(tool).toMatchObject({ type: 'tool_use', name: 'read_file', input });
    expect(tool?.type === 'tool_use' && tool.id).toMatch(/^toolu_/);

    fake.enqueue({
      kind: 'tool_uses',
      calls: [
        { name: 'a', input: { n: 1 }, id: 'toolu_custom' },
        { name: 'b', input: {} },
      ],
    });
    const multi = await client.messages.create(params);
    expect(multi.stop_reason).toBe('tool_use');
    expect(multi.content.map((b) => (b.type === 'tool_use' ? [b.id, b.name, b.input] : null))).toEqual([
      ['toolu_custom', 'a', { n: 1 }],
      [expect.stringMatching(/^toolu_/), 'b', {}],
    ]);
  });

  it('streams the same content via messages.stream().finalMessage()', async () => {
    const text = 'A longer reply that will be split across several text_delta events. ✓🚀';
    const input = { path: '/x', nested: { list: ['a', 'b'], n: 42 } };
    fake.enqueue({ kind: 'text', text }, { kind: 'tool_use', name: 'read_file', input, id: 'toolu_s', text: 'hi' });

    const deltas: string[] = [];
    const stream = client.messages.stream(params).on('text', (d) => deltas.push(d));
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: 'text', text, citations: null }]);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.model).toBe(MODEL);
    expect(final.usage).toMatchObject({ input_tokens: 10, output_tokens: 5 });
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(text);

    const toolMsg = await client.messages.stream(params).finalMessage();
    expect(toolMsg.stop_reason).toBe('tool_use');
    expect(toolMsg.content).toMatchObject([
      { type: 'text', text: 'hi' },
      { type: 'tool_use', id: 'toolu_s', name: 'read_file', input },
    ]);
    expect(fake.requests.map((r) => r.body.stream)).toEqual([true, true]);
  });

  it('emits the real SSE event sequence for create({ stream: true })', async () => {
    fake.enqueue({ kind: 'tool_use', name: 'read_file', input: { path: '/y' } });
    const stream = await client.messages.create({ ...params, stream: true });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
  });

  it('surfaces a 529 as an APIError with status 529', async () => {
    fake.enqueue({ kind: 'error', status: 529, message: 'Overloaded' });
    const err = await client.messages.create(params).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    const apiErr = err as APIError;
    expect(apiErr.status).toBe(529);
    expect(apiErr.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    expect(apiErr.requestID).toMatch(/^req_/);
    expect(fake.requests).toHaveLength(1);
  });

  it('lets the SDK retry a 429 (retry-after 0) and then succeed', async () => {
    const retrying = new Anthropic({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 1 });
    fake.enqueue({ kind: 'error', status: 429, retryAfterSeconds: 0 }, { kind: 'text', text: 'after retry' });
    const msg = await retrying.messages.create(params);
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'after retry' });
    expect(fake.requests).toHaveLength(2);
  });

  it("records a 'hang' request as aborted when the client aborts", async () => {
    fake.enqueue({ kind: 'hang' });
    const controller = new AbortController();
    const pending = client.messages.create(params, { signal: controller.signal });
    const [req] = await fake.waitForRequests(1);
    expect(req!.aborted).toBe(false);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(APIUserAbortError);
    await vi.waitFor(() => expect(req!.aborted).toBe(true));
  });

  it('applies delayMs / latency and answers raw requests like the real API', async () => {
    fake.setLatency(30);
    fake.enqueue({ kind: 'text', text: 'slow', delayMs: 30 });
    const started = Date.now();
    await client.messages.create(params);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);

    const noKey = await fetch(`${fake.url}/v1/messages`, { method: 'POST', body: JSON.stringify(params) });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });

    const unknown = await fetch(`${fake.url}/v1/nope`, { headers: { 'x-api-key': 'k' } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(fake.requests).toHaveLength(1);
  });

  it('waitForRequests resolves on arrival and rejects on timeout', async () => {
    const waiting = fake.waitForRequests(2, 2_000);
    await Promise.all([client.messages.create(params), client.messages.create(params)]);
    await expect(waiting).resolves.toHaveLength(2);
    await expect(fake.waitForRequests(3, 50)).rejects.toThrow(/only 2 request/);
  });
});

describe('fake Messages API: like the real one where it matters', () => {
  let fake: FakeMessagesApi;
  let client: Anthropic;
  const big = 'tide tables '.repeat(2_000); // ~6,000 fake tokens
  const cached = (text: string, ttl: '5m' | '1h' = '5m'): Anthropic.MessageParam => ({
    role: 'user', content: [{ type: 'text', text, cache_control: { type: 'ephemeral', ttl } }],
  });

  beforeAll(async () => {
    fake = await startFakeMessagesApi({ contextWindow: 10_000 });
    client = new Anthropic({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 0 });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.reset();
    fake.setContextWindow(10_000);
    fake.setCaching(true);
  });

  it('answers a prompt past the window exactly as the API does', async () => {
    const error = await client.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: big + big }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(400);
    expect((error as APIError).error).toEqual({
      type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/^prompt is too long: \d+ tokens > 10000 maximum$/) },
    });
  });

  it.each([
    ['an orphan tool_result', [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: 'r' }] }], /unexpected `tool_use_id`/],
    ['an unanswered tool_use', [{ role: 'user', content: 'go' }, { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'x', input: {} }] }, { role: 'user', content: 'next' }], /without `tool_result`/],
    ['an empty assistant turn', [{ role: 'user', content: 'go' }, { role: 'assistant', content: [] }, { role: 'user', content: 'next' }], /non-empty content/],
  ])('refuses %s with a 400 invalid_request_error', async (_name, messages, message) => {
    const error = await client.messages.create({ model: MODEL, max_tokens: 10, messages: messages as Anthropic.MessageParam[] }).catch((e: unknown) => e);
    expect((error as APIError).status).toBe(400);
    expect((error as APIError).message).toMatch(message);
  });

  it('caches prefixes at breakpoints: a write, then a read, the same in JSON and in the stream', async () => {
    const first = await client.messages.create({ model: MODEL, max_tokens: 10, messages: [cached(big)] });
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(5_000);
    expect(first.usage.cache_read_input_tokens).toBe(0);
    const next: Anthropic.MessageParam[] = [{ role: 'user', content: [{ type: 'text', text: big }] }, { role: 'assistant', content: 'ok' }, cached('more')];
    const second = await client.messages.create({ model: MODEL, max_tokens: 10, messages: next });
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    expect(second.usage.input_tokens + second.usage.cache_creation_input_tokens! + second.usage.cache_read_input_tokens!).toBe(fake.countTokens(fake.requests[1]!.raw));
    const streamed = await client.messages.stream({ model: MODEL, max_tokens: 10, messages: next }).finalMessage();
    expect(streamed.usage).toMatchObject({ cache_read_input_tokens: second.usage.cache_read_input_tokens! + second.usage.cache_creation_input_tokens! });
  });

  it('splits cache writes by TTL, and ignores cache_control when caching is off', async () => {
    const hour = await client.messages.create({ model: MODEL, max_tokens: 10, messages: [cached(big, '1h')] });
    expect(hour.usage.cache_creation).toEqual({ ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: hour.usage.cache_creation_input_tokens });
    fake.setCaching(false);
    const off = await client.messages.create({ model: MODEL, max_tokens: 10, messages: [cached(`${big}!`)] });
    expect(off.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    expect(off.usage.input_tokens).toBeGreaterThan(5_000);
  });

  it('scripts empty replies and bad usage', async () => {
    fake.enqueue({ kind: 'empty' }, { kind: 'text', text: 'x', usage: { input_tokens: '12', output_tokens: -1 } });
    expect((await client.messages.create(params())).content).toEqual([]);
    expect((await client.messages.create(params())).usage).toMatchObject({ input_tokens: '12', output_tokens: -1 });
  });

  const params = () => ({ model: MODEL, max_tokens: 10, messages: [USER_MSG] });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicClient, JOIN_BELOW_CHARS, JsonBody, requestJson } from '../../src/model/client.js';
import { turnJson } from '../../src/domain/agent.js';
import { preview } from '../../src/events/preview.js';
import { startFakeMessagesApi, type FakeMessagesApi } from '../support/fake-messages-api.js';

const HEAD = { model: 'claude-haiku-4-5', max_tokens: 1_000 } as const;
/** A long agent's turns: a start, then tool calls answered by ~20,000-character pages, some of them not ASCII. */
const turns = (n: number) => [
  turnJson({ role: 'user', content: 'Read the tide tables' }),
  ...Array.from({ length: n - 1 }, (_, i) => turnJson(i % 2 === 0
    ? { role: 'assistant', content: [{ type: 'tool_use', id: `toolu_${i}`, name: 'fetch_webpage', input: { url: `https://tides.example/${i}` } }] }
    : { role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_${i - 1}`, content: `page ${i}: ${'marée à 6 h 12 — 🌊 '.repeat(1_000)}` }] })),
];
const signal = () => new AbortController().signal;

describe('request bodies: a long conversation is sent as its stored turns, never joined into one string', () => {
  let fake: FakeMessagesApi;
  beforeAll(async () => {
    fake = await startFakeMessagesApi();
  });
  afterAll(() => fake.close());

  it('a small request is one string; a large one is a JsonBody of the turns themselves, with its UTF-8 size', () => {
    const small = requestJson(HEAD, turns(1).map(() => '{"role":"user","content":"hi"}'));
    expect(typeof small).toBe('string');
    const stored = turns(40);
    const large = requestJson(HEAD, stored);
    expect(large).toBeInstanceOf(JsonBody);
    const body = large as JsonBody;
    expect(body.pieces.filter((p) => typeof p === 'string' && stored.includes(p))).toHaveLength(40);
    const text = `${JSON.stringify(HEAD).slice(0, -1)},"messages":[${stored.join(',')}]}`;
    expect(text.length).toBeGreaterThan(JOIN_BELOW_CHARS);
    expect(body.size).toBe(Buffer.byteLength(text));
    expect(body.type).toBe('application/json');
  });

  it('any fetch reads the same bytes from it as from the joined text (it is a Blob)', async () => {
    const stored = turns(12);
    const body = requestJson(HEAD, stored) as JsonBody;
    const text = `${JSON.stringify(HEAD).slice(0, -1)},"messages":[${stored.join(',')}]}`;
    expect(await new Response(body).text()).toBe(text);
    expect(Buffer.from(await body.arrayBuffer()).equals(Buffer.from(text))).toBe(true);
    expect(await body.slice(0, 40).text()).toBe(text.slice(0, 40));
  });

  it('the Messages API receives the request exactly, streamed or not, and a retried call sends it whole again', async () => {
    const model = anthropicClient({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 1, timeoutMs: 10_000 });
    const stored = turns(31);
    const expected = JSON.parse(`{"messages":[${stored.join(',')}]}`) as { messages: unknown[] };

    fake.enqueue({ kind: 'text', text: 'read them' });
    await model.create(requestJson(HEAD, stored), signal());
    expect(fake.requests.at(-1)!.raw.messages).toEqual(expected.messages);
    expect(Number(fake.requests.at(-1)!.headers['content-length'])).toBe((requestJson(HEAD, stored) as JsonBody).size);

    // Overloaded first: the SDK retries with the same body (a stream body would have turned its retries off).
    fake.enqueue({ kind: 'error', status: 529 }, { kind: 'text', text: 'read them again' });
    const before = fake.requests.length;
    const reply = await model.stream(requestJson({ ...HEAD, stream: true }, stored), signal(), () => {});
    expect(reply.content).toEqual([expect.objectContaining({ type: 'text', text: 'read them again' })]);
    const sent = fake.requests.slice(before);
    expect(sent).toHaveLength(2);
    for (const request of sent) expect(request.raw.messages).toEqual(expected.messages);
  });
});

describe('event previews', () => {
  it('are the first characters of the text, every UTF-16 unit kept, and the text itself when short', () => {
    const text = `${'a'.repeat(498)}🌊 and more`;
    expect(preview(text, 499)).toBe(text.slice(0, 499)); // ends with half of the surrogate pair, as slice() does
    expect(preview(text, 500)).toBe(`${'a'.repeat(498)}🌊`);
    expect(preview('short', 500)).toBe('short');
  });
});

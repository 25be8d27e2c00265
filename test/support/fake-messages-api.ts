/**
 * A real HTTP server impersonating the Anthropic Messages API (`POST /v1/messages`)
 * well enough for the real `@anthropic-ai/sdk` to talk to it, both non-streaming and
 * streaming (SSE). Point the SDK at it with
 * `new Anthropic({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 0 })`.
 *
 * Replies are scripted: `enqueue()` (FIFO) first, then `setHandler()`, else a text "ok".
 * Built for speed too (benchmarks): keep-alive, no logging, each reply written in one go.
 *
 * Like the real API where it matters (fake-prompt-rules.ts): a context window (200,000 tokens by default) answered
 * with `prompt is too long: N tokens > M maximum`; refusal of an orphan tool_result, an unanswered tool_use and an
 * empty turn; a prompt cache for requests with cache_control, whose usage reports cache reads and writes (off with
 * `caching: false`, which ignores cache_control as Ollama does). A request with cache_control, or any request
 * with `estimateUsage: true`, is billed by the fake's token estimate; otherwise usage is 10 in / 5 out unless scripted.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Anthropic from '@anthropic-ai/sdk';
import { blocksOf, FAKE_CHARS_PER_TOKEN, FakePromptCache, refusal } from './fake-prompt-rules.js';

/** Scripted usage is sent as given, so a test can send what a broken provider does (strings, negatives). */
export type FakeUsage = { input_tokens: number; output_tokens: number } | Record<string, unknown>;
export type FakeToolCall = { name: string; input: Record<string, unknown>; id?: string };
/**
 * How a streamed reply is paced: text deltas of `chunkChars` (default 24), `gapMs` apart, and after `holdAfter`
 * deltas nothing more until `hold` settles (a model caught mid-reply).
 */
export interface FakePacing { chunkChars?: number; gapMs?: number; holdAfter?: number; hold?: Promise<unknown> }
export type FakeReply =
  | { kind: 'text'; text: string; usage?: FakeUsage; delayMs?: number; stopReason?: Anthropic.StopReason; pacing?: FakePacing }
  | { kind: 'tool_use'; name: string; input: Record<string, unknown>; id?: string; text?: string; usage?: FakeUsage; delayMs?: number }
  // several tool_use blocks in one reply:
  | { kind: 'tool_uses'; calls: FakeToolCall[]; usage?: FakeUsage; delayMs?: number }
  | { kind: 'error'; status: number; type?: string; message?: string; retryAfterSeconds?: number; delayMs?: number }
  | { kind: 'hang' } // never answers; the connection stays open until the client aborts (or close())
  // a message with no content blocks (the real API sends these, e.g. after a tool result it has nothing to add):
  | { kind: 'empty'; usage?: FakeUsage; stopReason?: Anthropic.StopReason }
  // any body with any status (a proxy's HTML page, a truncated JSON, …):
  | { kind: 'raw'; status?: number; body: string; contentType?: string }
  // a valid message whose text makes the body `bytes` long; `chunked` sends it without a content-length:
  | { kind: 'oversized'; bytes: number; chunked?: boolean }
  // a 200 whose body never ends (chunks until the client goes away):
  | { kind: 'endless' };

/** The parsed JSON body as the SDK sends it (raw requests are not validated). */
export type MessagesRequestBody = Anthropic.MessageCreateParams;

export interface RecordedRequest {
  /** The request with cache_control markers taken out (what tests compare content against). */
  body: MessagesRequestBody;
  /** The request exactly as sent, cache_control included. */
  raw: MessagesRequestBody;
  headers: Record<string, string | string[] | undefined>;
  /** True if the client closed the connection before we answered. */
  aborted: boolean;
}

/** Which agent made a request: its system prompt names its path ('?' for one without, such as the judge's). */
export function callerOf(req: RecordedRequest): string {
  return /running at path "([^"]+)"/.exec(String(req.body.system))?.[1] ?? '?';
}

export interface FakeMessagesApi {
  /** e.g. http://127.0.0.1:PORT — pass as `baseURL`. */
  readonly url: string;
  /** Every authenticated, well-formed request to /v1/messages, in arrival order (one per reply). */
  readonly requests: RecordedRequest[];
  enqueue(...replies: FakeReply[]): void;
  setHandler(handler: (req: RecordedRequest) => FakeReply | Promise<FakeReply>): void;
  setLatency(ms: number): void;
  /** The context window in tokens (default 200,000). */
  setContextWindow(tokens: number): void;
  /** Prompt caching on (default) or off (cache_control ignored, as Ollama does). */
  setCaching(on: boolean): void;
  /** The fake's token count of a request, as it checks it against the window. */
  countTokens(body: MessagesRequestBody): number;
  waitForRequests(n: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  reset(): void;
  close(): Promise<void>;
}

type ContentReply = Extract<FakeReply, { kind: 'text' | 'tool_use' | 'tool_uses' | 'empty' }>;
type Block = Anthropic.TextBlock | Anthropic.ToolUseBlock;
type StreamEvent = Anthropic.RawMessageStreamEvent | { type: 'ping' };

const DEFAULT_USAGE: FakeUsage = { input_tokens: 10, output_tokens: 5 };
const DEFAULT_REPLY: FakeReply = { kind: 'text', text: 'ok' };
const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error',
  413: 'request_too_large', 429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error',
};

const runTag = randomBytes(4).toString('hex');
let seq = 0;
/** Unique ids shaped like the real ones: msg_…, toolu_…, req_…. */
const nextId = (prefix: string): string => `${prefix}_01${runTag}${(++seq).toString(36).padStart(8, '0')}`;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Splits into pieces of at most `size` code points, as the real API streams text in chunks. */
function chunks(text: string, size = 24): string[] {
  return text.match(new RegExp(`[\\s\\S]{1,${size}}`, 'gu')) ?? [];
}

function toolBlock(call: FakeToolCall): Anthropic.ToolUseBlock {
  return { type: 'tool_use', id: call.id ?? nextId('toolu'), name: call.name, input: call.input, caller: { type: 'direct' } };
}

function buildMessage(model: string, reply: ContentReply, estimated: Record<string, unknown> | null): Anthropic.Message {
  const content: Block[] = [];
  const text = reply.kind === 'text' ? reply.text : reply.kind === 'tool_use' ? reply.text : undefined;
  if (text !== undefined) content.push({ type: 'text', text, citations: null });
  if (reply.kind === 'tool_use') content.push(toolBlock(reply));
  if (reply.kind === 'tool_uses') content.push(...reply.calls.map(toolBlock));
  const output = Math.max(1, Math.ceil(JSON.stringify(content).length / FAKE_CHARS_PER_TOKEN));
  const usage = (reply.usage ?? (estimated ? { ...estimated, output_tokens: output } : DEFAULT_USAGE)) as Record<string, unknown>;
  const stopReason = 'stopReason' in reply && reply.stopReason ? reply.stopReason : null;
  return {
    id: nextId('msg'),
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stopReason ?? (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn'),
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: {
      cache_creation_input_tokens: 0, cache_read_input_tokens: 0, cache_creation: null,
      server_tool_use: null, service_tier: 'standard', inference_geo: null, output_tokens_details: null, speed: null,
      ...usage,
    } as unknown as Anthropic.Usage,
  };
}

/** The SSE frames for `message`: message_start, ping, per-block start/delta…/stop, message_delta, message_stop. */
function sseFrames(message: Anthropic.Message, chunkChars = 24): string[] {
  const events: StreamEvent[] = [
    {
      type: 'message_start',
      message: { ...message, content: [], stop_reason: null, usage: { ...message.usage, output_tokens: 1 } },
    },
    { type: 'ping' },
  ];
  message.content.forEach((block, index) => {
    if (block.type === 'text') {
      events.push({ type: 'content_block_start', index, content_block: { ...block, text: '' } });
      for (const text of chunks(block.text, chunkChars)) {
        events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
      }
    } else if (block.type === 'tool_use') {
      events.push({ type: 'content_block_start', index, content_block: { ...block, input: {} } });
      for (const partial_json of chunks(JSON.stringify(block.input))) {
        events.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } });
      }
    }
    events.push({ type: 'content_block_stop', index });
  });
  const { stop_reason, stop_sequence, usage } = message;
  events.push(
    {
      type: 'message_delta',
      delta: { stop_reason, stop_sequence, stop_details: null, container: null },
      usage: {
        input_tokens: usage.input_tokens, output_tokens: usage.output_tokens, server_tool_use: null,
        cache_creation_input_tokens: usage.cache_creation_input_tokens, cache_read_input_tokens: usage.cache_read_input_tokens,
        output_tokens_details: null,
      },
    },
    { type: 'message_stop' },
  );
  return events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
}

/** Writes the frames one by one as `pacing` says; stops when the client goes away. */
async function sendPaced(res: ServerResponse, frames: string[], pacing: FakePacing): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': nextId('req') });
  let deltas = 0;
  for (const frame of frames) {
    if (res.destroyed) return;
    const delta = frame.startsWith('event: content_block_delta');
    if (delta && deltas > 0 && pacing.gapMs) await sleep(pacing.gapMs);
    if (delta && deltas === pacing.holdAfter && pacing.hold) await pacing.hold;
    if (res.destroyed) return;
    res.write(frame);
    if (delta) deltas++;
  }
  res.end();
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body), 'request-id': nextId('req') });
  res.end(body);
}

function sendError(res: ServerResponse, status: number, type?: string, message?: string, retryAfterSeconds?: number): void {
  const errorType = type ?? ERROR_TYPES[status] ?? 'api_error';
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  const body = { type: 'error', error: { type: errorType, message: message ?? `fake ${errorType}` } };
  send(res, status, JSON.stringify(body), headers);
}

/** A copy of the request without its cache_control markers (only when it has any). */
function withoutCacheControl(body: MessagesRequestBody): MessagesRequestBody {
  const raw = JSON.stringify(body);
  if (!raw.includes('"cache_control"')) return body;
  return JSON.parse(raw, (key, value: unknown) => (key === 'cache_control' ? undefined : value)) as MessagesRequestBody;
}

/** Writes chunks until the client closes the connection, a little at a time so the fake itself stays small. */
function endless(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.alloc(64 * 1024, 'x');
  res.write('{"type":"message","content":[{"type":"text","text":"');
  const more = (): void => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', more);
  };
  res.once('close', () => res.removeAllListeners('drain'));
  more();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

export interface FakeOptions {
  port?: number;
  contextWindow?: number;
  caching?: boolean;
  /** Bill every request by the token estimate, not 10 in / 5 out (those with cache_control always are). */
  estimateUsage?: boolean;
  now?: () => number;
}

export async function startFakeMessagesApi(options: FakeOptions = {}): Promise<FakeMessagesApi> {
  const requests: RecordedRequest[] = [];
  let contextWindow = options.contextWindow ?? 200_000;
  let caching = options.caching ?? true;
  const cache = new FakePromptCache(options.now ?? Date.now);
  const queue: FakeReply[] = [];
  const waiters = new Set<() => void>();
  let handler: ((req: RecordedRequest) => FakeReply | Promise<FakeReply>) | undefined;
  let latencyMs = 0;
  let closing = false;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'POST' || path !== '/v1/messages') {
      req.resume();
      return sendError(res, 404, 'not_found_error', `Not found: ${req.method} ${path}`);
    }
    const raw = await readBody(req);
    // SDK 1.x sends even `apiKey` as `Authorization: Bearer …`; raw callers may use x-api-key.
    if (!req.headers['x-api-key'] && !req.headers.authorization) {
      return sendError(res, 401, 'authentication_error', 'x-api-key or authorization header is required');
    }
    let body: MessagesRequestBody;
    try {
      body = JSON.parse(raw) as MessagesRequestBody;
    } catch {
      return sendError(res, 400, 'invalid_request_error', 'Request body is not valid JSON');
    }
    const blocks = Array.isArray(body.messages) ? blocksOf(body) : [];
    const refused = refusal(body, contextWindow, blocks);
    if (refused) return sendError(res, 400, 'invalid_request_error', refused);
    const breakpoints = blocks.some((b) => b.ttl !== null);
    let estimated: Record<string, unknown> | null = null;
    if (breakpoints && caching) estimated = { ...cache.usage(blocks) };
    else if (breakpoints || options.estimateUsage) estimated = { input_tokens: blocks.reduce((n, b) => n + b.tokens, 0) };
    const record: RecordedRequest = { body: withoutCacheControl(body), raw: body, headers: req.headers, aborted: false };
    res.on('close', () => {
      if (!res.writableEnded && !closing) record.aborted = true;
    });
    requests.push(record);
    for (const wake of waiters) wake();

    let reply: FakeReply;
    try {
      reply = queue.shift() ?? (handler ? await handler(record) : DEFAULT_REPLY);
    } catch (err) {
      return sendError(res, 500, 'api_error', `fake handler threw: ${String(err)}`);
    }
    if (reply.kind === 'hang') return;
    const delay = latencyMs + ('delayMs' in reply ? reply.delayMs ?? 0 : 0);
    if (delay > 0) await sleep(delay);
    if (res.destroyed) return;
    if (reply.kind === 'error') {
      return sendError(res, reply.status, reply.type, reply.message, reply.retryAfterSeconds);
    }
    if (reply.kind === 'raw') return send(res, reply.status ?? 200, reply.body, { 'content-type': reply.contentType ?? 'application/json' });
    if (reply.kind === 'endless') return endless(res);
    if (reply.kind === 'oversized') {
      const message = buildMessage(body.model, { kind: 'text', text: '' }, null);
      const empty = JSON.stringify(message);
      const text = 'x'.repeat(Math.max(0, reply.bytes - empty.length));
      const json = JSON.stringify({ ...message, content: [{ type: 'text', text, citations: null }] });
      if (!reply.chunked) return send(res, 200, json, { 'content-type': 'application/json' });
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(json);
    }
    const message = buildMessage(body.model, reply, estimated);
    const pacing = reply.kind === 'text' ? reply.pacing : undefined;
    if (body.stream && pacing) {
      await sendPaced(res, sseFrames(message, pacing.chunkChars), pacing);
    } else if (body.stream) {
      send(res, 200, sseFrames(message).join(''), { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    } else {
      send(res, 200, JSON.stringify(message), { 'content-type': 'application/json' });
    }
  }

  const server = createServer({ requestTimeout: 0, noDelay: true }, (req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 61_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port ?? 0, host: '127.0.0.1', backlog: 4096 }, resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...replies) => void queue.push(...replies),
    setHandler: (h) => void (handler = h),
    setLatency: (ms) => void (latencyMs = ms),
    setContextWindow: (tokens) => void (contextWindow = tokens),
    setCaching: (on) => void (caching = on),
    countTokens: (body) => blocksOf(body).reduce((n, b) => n + b.tokens, 0),
    waitForRequests(n, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (requests.length < n) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(requests.slice());
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`waitForRequests(${n}): only ${requests.length} request(s) after ${timeoutMs}ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    reset() {
      queue.length = 0;
      requests.length = 0;
      handler = undefined;
      latencyMs = 0;
      cache.clear();
    },
    close() {
      closing = true;
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // includes hanging requests and idle keep-alive sockets
      });
    },
  };
}

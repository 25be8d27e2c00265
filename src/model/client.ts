import type Anthropic from '@anthropic-ai/sdk';
import type { TurnJson } from '../domain/agent.js';
import { JsonBody, type BodyPiece } from './json-body.js';
import { nodeHttpFetch, ReplyTooLargeError } from './node-http-fetch.js';

export { JsonBody, ReplyTooLargeError, type BodyPiece };

export type ModelRequest = Anthropic.MessageCreateParamsNonStreaming;
export type ModelReply = Anthropic.Message;

/** A piece of a reply's text as it streams in: `index` is its content block's. */
export type TextDelta = (text: string, index: number) => void;

/** The one thing the runner and the judge need from a model provider. */
export interface ModelClient {
  readonly configured: boolean;
  /** One Messages API call; the request is its JSON body (see `requestJson`). */
  create(body: RequestBody, signal: AbortSignal): Promise<ModelReply>;
  /**
   * One streamed Messages API call: the request's JSON body must carry `"stream":true`. `onText` gets each text
   * delta as it arrives; the promise resolves to the message `create` would have returned (usage included).
   */
  stream(body: RequestBody, signal: AbortSignal, onText: TextDelta): Promise<ModelReply>;
}

/** A request's JSON text, or for a large request the pieces of it (see JsonBody). */
export type RequestBody = string | JsonBody;

/**
 * Below this many characters a request is sent as one string, as before: one write, and a string that small is
 * allocated young and dies young. A Blob costs a few microseconds more to make than the join.
 */
export const JOIN_BELOW_CHARS = 64 * 1024;

/**
 * A Messages API request body: everything but the messages encoded here, the messages (already JSON, see TurnJson)
 * joined in, or for a large request sent as they are stored, with no string of the whole request made (JsonBody).
 * Encoding a 100-turn window again on every call was most of a call's request cost; joining a long agent's
 * ~600 KB window into one string on every call was most of its garbage.
 */
export function requestJson(head: Omit<Anthropic.MessageCreateParams, 'messages'>, messages: readonly TurnJson[]): RequestBody {
  const pieces: BodyPiece[] = [];
  messages.forEach((turn, i) => {
    if (i > 0) pieces.push(',');
    pieces.push(turn);
  });
  return requestBody(head, pieces);
}

/** The same, from the messages already as JSON pieces, commas included (see messagePieces). */
export function requestBody(head: Omit<Anthropic.MessageCreateParams, 'messages'>, messages: readonly BodyPiece[]): RequestBody {
  const pieces: BodyPiece[] = [`${JSON.stringify(head).slice(0, -1)},"messages":[`, ...messages, ']}'];
  let size = 0; // characters of strings, bytes of stored turns: near enough for where to join
  for (const piece of pieces) size += piece.length;
  if (size >= JOIN_BELOW_CHARS) return new JsonBody(pieces);
  return pieces.map((piece) => (typeof piece === 'string' ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength).toString('utf8'))).join('');
}

export interface ModelClientOptions {
  apiKey: string | undefined;
  baseURL: string | undefined;
  /** Retries of overloaded / 5xx / 429 answers, with the SDK's exponential backoff honouring retry-after. */
  maxRetries: number;
  timeoutMs: number;
  /** The largest reply body read (AUTON_MODEL_MAX_REPLY_BYTES); a longer one ends the call with ReplyTooLargeError. */
  maxReplyBytes?: number;
}

const JSON_CONTENT = { 'content-type': 'application/json' };
/**
 * What `messages.stream` is given besides the body: the body itself is the request's RequestBody, passed as the
 * `body` request option (which the SDK sends verbatim, over the params). Nothing here reaches the wire.
 */
const STREAM_PARAMS: Anthropic.MessageStreamParams = { model: '', max_tokens: 0, messages: [] };

/** Thrown when no API key is configured: a setup problem, so never retried or restarted. */
export class MissingApiKeyError extends Error {
  constructor() {
    super("ANTHROPIC_API_KEY is not set: export it in the daemon's environment, restart the daemon, then POST /agents/{path}/resume");
  }
}

type Sdk = typeof Anthropic;
/** The SDK once loaded: until then no error can be one of its classes. */
let loadedSdk: Sdk | null = null;
let loadingSdk: Promise<Sdk> | null = null;

/**
 * The SDK is imported at the first model call, not at start-up: it is the largest module the daemon loads
 * (240–490 ms measured), and a daemon serves its tree without it.
 */
function loadSdk(): Promise<Sdk> {
  return (loadingSdk ??= import('@anthropic-ai/sdk').then((m) => (loadedSdk = m.default)));
}

/** The real @anthropic-ai/sdk; ANTHROPIC_BASE_URL points it elsewhere (the tests' fake Messages API). */
export function anthropicClient(options: ModelClientOptions): ModelClient {
  const { apiKey } = options;
  let client: Promise<Anthropic> | null = null;
  const connect = (): Promise<Anthropic> => (client ??= loadSdk().then((Sdk) => new Sdk({
    apiKey, baseURL: options.baseURL ?? null, maxRetries: options.maxRetries, timeout: options.timeoutMs,
    fetch: nodeHttpFetch({ streamIdleMs: options.timeoutMs, ...(options.maxReplyBytes === undefined ? {} : { maxReplyBytes: options.maxReplyBytes }) }),
  })));
  return {
    configured: Boolean(apiKey),
    create: async (body, signal) => {
      if (!apiKey) throw new MissingApiKeyError();
      const sdk = await connect();
      // The SDK's own transport (auth, retries with back-off, typed errors) given the body as it is: a string with a
      // content-type, or a Blob (JsonBody), is sent verbatim. `messages.create` would take an object and encode it again.
      return sdk.post<ModelReply>('/v1/messages', { body, headers: JSON_CONTENT, signal, timeout: options.timeoutMs });
    },
    stream: async (body, signal, onText) => {
      if (!apiKey) throw new MissingApiKeyError();
      const sdk = await connect();
      // The SDK's MessageStream: its SSE parser, its assembly of the final message (usage from message_start and
      // message_delta, tool inputs, thinking), its retries before the first byte and its abort on `signal`.
      const stream = sdk.messages.stream(STREAM_PARAMS, { body, headers: JSON_CONTENT, signal, timeout: options.timeoutMs });
      stream.on('streamEvent', (event) => {
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') onText(event.delta.text, event.index);
      });
      // Without the `parsed_output` the stream adds (for structured outputs, which these calls never ask for).
      const { parsed_output: _parsed, ...message } = await stream.finalMessage();
      return message;
    },
  };
}

/**
 * The context cannot be made to fit the model's window, even by compaction (one turn alone is larger than it, or the
 * summary cannot be made small enough). Restarting would not help: an operator must act.
 */
export class ContextOverflowError extends Error {}

/** The first error of its kind in `error` or its causes (the SDK wraps what its fetch throws). */
function inCauses<T extends Error>(error: unknown, kind: abstract new (...args: never[]) => T): T | null {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) if (e instanceof kind) return e;
  return null;
}

/** A Messages API answer that the prompt is larger than the window: `{tokens, maximum}`, else null. */
export function promptTooLong(error: unknown): { tokens: number; maximum: number } | null {
  if (!loadedSdk || !(error instanceof loadedSdk.APIError) || error.status !== 400) return null;
  const match = /prompt is too long: (\d+) tokens > (\d+) maximum/.exec(error.message);
  return match ? { tokens: Number(match[1]), maximum: Number(match[2]) } : null;
}

/** Whether a failure is worth restarting over (as opposed to a setup or request problem an operator must fix). */
export function isTransient(error: unknown): boolean {
  if (error instanceof MissingApiKeyError || error instanceof ContextOverflowError) return false;
  if (inCauses(error, ReplyTooLargeError)) return false;
  if (loadedSdk && error instanceof loadedSdk.APIError && typeof error.status === 'number') {
    return error.status === 408 || error.status === 409 || error.status === 429 || error.status >= 500;
  }
  return true; // connection errors, timeouts
}

/** A one-line explanation of a model failure that tells the operator what to do. */
export function describeFailure(error: unknown): string {
  if (error instanceof MissingApiKeyError || error instanceof ContextOverflowError) return error.message;
  const tooLarge = inCauses(error, ReplyTooLargeError);
  if (tooLarge) return tooLarge.message;
  if (loadedSdk && error instanceof loadedSdk.APIError) {
    if (error.status === 401) return 'the Messages API rejected ANTHROPIC_API_KEY (401): check the key, then resume the agent';
    if (error.status === 404) return `the Messages API does not know this model (404): ${error.message}`;
    return `the Messages API failed after retries (${error.status ?? 'no status'}): ${error.message}`;
  }
  return `the model call failed: ${error instanceof Error ? error.message : String(error)}`;
}

export function isAbort(error: unknown): boolean {
  return (loadedSdk !== null && error instanceof loadedSdk.APIUserAbortError) || (error instanceof Error && error.name === 'AbortError');
}

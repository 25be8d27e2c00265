import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable, Transform } from 'node:stream';
import { JsonBody } from './json-body.js';

/** Sockets kept open to the Messages API: one per concurrently active agent, up to this many. */
const MAX_SOCKETS = 1024;

/**
 * A `fetch` for the Anthropic SDK built on node:http with keep-alive. Node's global fetch (undici) streams every
 * JSON body through web streams with chunked encoding; this writes the string, or a JsonBody's pieces, in one go.
 * Measured in the bench (figure 7) at about a third less CPU per model call. The SDK keeps doing everything else (retries, errors).
 * Anything it cannot send as a plain body falls back to the global fetch.
 */
/** A reply body past the cap: the call ends with this, and what was read of the body is dropped. */
export class ReplyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the model's reply was larger than AUTON_MODEL_MAX_REPLY_BYTES (${maxBytes} bytes); it was dropped unread. Raise the limit if such replies are expected, then resume the agent`);
  }
}

/** The default cap on a reply body (AUTON_MODEL_MAX_REPLY_BYTES). */
export const DEFAULT_MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** An event stream that sent nothing (not even a ping) for the call's timeout: the call fails, as a timeout would. */
export class StreamStalledError extends Error {
  constructor(readonly idleMs: number) {
    super(`the model's reply stream sent nothing for ${idleMs} ms (AUTON_MODEL_TIMEOUT_MS)`);
  }
}

export function nodeHttpFetch(options: { maxReplyBytes?: number; streamIdleMs?: number } = {}): typeof fetch {
  const maxReplyBytes = options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  const idleMs = options.streamIdleMs ?? null;
  const agents = {
    // As many idle sockets kept as may be busy: the default (256) closes and reopens sockets all the time when
    // more agents than that call at once.
    http: new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: MAX_SOCKETS }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: MAX_SOCKETS }),
  };
  return (input, init = {}) => {
    const body = init.body;
    const pieces = body instanceof JsonBody;
    if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array) && !pieces) return fetch(input, init);
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const secure = url.protocol === 'https:';
    const method = init.method ?? 'GET';
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    if (pieces) {
      headers['content-type'] ??= body.type;
      headers['content-length'] = String(body.size);
    }
    return new Promise<Response>((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(url, {
        method, headers, agent: secure ? agents.https : agents.http, ...(init.signal ? { signal: init.signal } : {}),
      }, (res) => toResponse(res, method, maxReplyBytes, init.signal ?? null, idleMs).then(resolve, reject));
      request.once('error', reject);
      if (!pieces) return void request.end(body ?? undefined);
      // Corked, the pieces leave in one writev: strings encoded as they are written, stored turns' bytes as they are.
      request.cork();
      for (const piece of body.pieces) request.write(piece);
      request.uncork();
      request.end();
    });
  };
}

/**
 * A JSON answer is read whole before the Response is made from its bytes: cheaper than adapting the socket
 * stream to a web stream. An event stream stays a stream.
 */
async function toResponse(res: IncomingMessage, method: string, maxBytes: number, signal: AbortSignal | null, idleMs: number | null): Promise<Response> {
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const status = res.statusCode ?? 500;
  const init = { status, statusText: res.statusMessage ?? '', headers };
  if (method === 'HEAD' || status === 204 || status === 304) {
    res.resume();
    return new Response(null, init);
  }
  // A declared length past the cap is refused before a byte is read; an undeclared one is counted as it comes, so
  // a body that never ends costs at most the cap.
  if (Number(res.headers['content-length'] ?? 0) > maxBytes) {
    res.destroy();
    throw new ReplyTooLargeError(maxBytes);
  }
  if (String(res.headers['content-type']).startsWith('text/event-stream')) {
    // The SDK's timeout ends when the headers arrive; a stream that then stalls would hold the call forever.
    if (idleMs !== null) res.setTimeout(idleMs, () => res.destroy(new StreamStalledError(idleMs)));
    return new Response(Readable.toWeb(capped(res, maxBytes, signal)) as unknown as ReadableStream<Uint8Array>, init);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) {
      res.destroy();
      throw new ReplyTooLargeError(maxBytes);
    }
    chunks.push(chunk as Buffer);
  }
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  return new Response(body as unknown as BodyInit, init);
}

/**
 * An event stream that fails with ReplyTooLargeError once more than `maxBytes` have come through, and with an
 * AbortError when `signal` aborts it (node:http reports that as a connection reset, which would read as a failure).
 */
function capped(res: IncomingMessage, maxBytes: number, signal: AbortSignal | null): Readable {
  let total = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      if (total > maxBytes) {
        res.destroy();
        done(new ReplyTooLargeError(maxBytes));
      } else {
        done(null, chunk);
      }
    },
  });
  res.once('error', (error) => limiter.destroy(signal?.aborted ? abortError(signal) : error));
  return res.pipe(limiter);
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error && reason.name === 'AbortError' ? reason : new DOMException('the model call was aborted', 'AbortError');
}

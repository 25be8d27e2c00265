import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';

/** Sockets kept open to the Messages API: one per concurrently active agent, up to this many. */
const MAX_SOCKETS = 1024;

/**
 * A `fetch` for the Anthropic SDK built on node:http with keep-alive. Node's global fetch (undici) streams every
 * JSON body through web streams with chunked encoding; this writes the string in one go. Measured in the bench
 * (figure 7) at about a third less CPU per model call. The SDK keeps doing everything else (retries, errors).
 * Anything it cannot send as a plain body falls back to the global fetch.
 */
export function nodeHttpFetch(): typeof fetch {
  const agents = {
    // As many idle sockets kept as may be busy: the default (256) closes and reopens sockets all the time when
    // more agents than that call at once.
    http: new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: MAX_SOCKETS }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: MAX_SOCKETS }),
  };
  return (input, init = {}) => {
    const body = init.body;
    if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) return fetch(input, init);
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const secure = url.protocol === 'https:';
    const method = init.method ?? 'GET';
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    return new Promise<Response>((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(url, {
        method, headers, agent: secure ? agents.https : agents.http, ...(init.signal ? { signal: init.signal } : {}),
      }, (res) => toResponse(res, method).then(resolve, reject));
      request.once('error', reject);
      request.end(body ?? undefined);
    });
  };
}

/**
 * A JSON answer is read whole before the Response is made from its bytes: cheaper than adapting the socket
 * stream to a web stream. An event stream stays a stream.
 */
async function toResponse(res: IncomingMessage, method: string): Promise<Response> {
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const status = res.statusCode ?? 500;
  const init = { status, statusText: res.statusMessage ?? '', headers };
  if (method === 'HEAD' || status === 204 || status === 304) {
    res.resume();
    return new Response(null, init);
  }
  if (String(res.headers['content-type']).startsWith('text/event-stream')) {
    return new Response(Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>, init);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  return new Response(body as unknown as BodyInit, init);
}

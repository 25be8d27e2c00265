import { request, type IncomingHttpHeaders } from 'node:http';

/** One dispatched SSE event. `id` is set when the event's own block carried an `id:` field. */
export interface ParsedEvent {
  id?: string;
  event: string;
  /** The data lines joined with '\n', parsed as JSON (the raw string when it is not JSON). */
  data: unknown;
}

export interface SseConnection {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body of a non-200 answer, parsed as JSON when it is. */
  body: unknown;
  /** Every event received so far, in order. */
  events: ParsedEvent[];
  /** Comment lines received (without the leading ':'). */
  comments: string[];
  /** The last `id:` seen, as a browser's EventSource would send it on reconnect. */
  readonly lastEventId: string | undefined;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Resolves when the server ends the stream; rejects if it is still open after `timeoutMs`. */
  untilEnded(timeoutMs?: number): Promise<void>;
  /**
   * The first event after the previous `next()` match that satisfies the predicate (or has that type),
   * waiting for it if need be; rejects after `timeoutMs`.
   */
  next(match: string | ((event: ParsedEvent) => boolean), timeoutMs?: number): Promise<ParsedEvent>;
  close(): void;
}

/** An event's data as the JSON object every daemon event carries; throws when it is not one. */
export function dataOf(event: ParsedEvent): Record<string, unknown> {
  if (typeof event.data !== 'object' || event.data === null || Array.isArray(event.data)) {
    throw new Error(`${event.event} event data is not a JSON object: ${JSON.stringify(event.data)}`);
  }
  return event.data as Record<string, unknown>;
}

// Captured at import so a test that fakes setTimeout still gets real timeouts here.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/**
 * Incremental parser of the SSE wire format (https://html.spec.whatwg.org/multipage/server-sent-events.html):
 * lines end in CRLF, LF or CR; `:` starts a comment; `field: value` with one optional space; a blank line
 * dispatches the event when it has data.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private type = '';
  private blockId: string | undefined;
  lastEventId: string | undefined;

  constructor(private readonly onEvent: (event: ParsedEvent) => void, private readonly onComment: (text: string) => void = () => {}) {}

  push(chunk: string): void {
    this.buffer += chunk;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      if (c === '\r' && i === this.buffer.length - 1) break; // may be the first half of CRLF: wait for more
      this.line(this.buffer.slice(start, i));
      if (c === '\r' && this.buffer[i + 1] === '\n') i++;
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return this.onComment(line.slice(1).replace(/^ /, ''));
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.type = value;
    else if (field === 'id' && !value.includes('\0')) this.blockId = this.lastEventId = value;
  }

  private dispatch(): void {
    const { data, type, blockId } = this;
    this.data = [];
    this.type = '';
    this.blockId = undefined;
    if (data.length === 0) return;
    const text = data.join('\n');
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    const event: ParsedEvent = { event: type || 'message', data: parsed };
    if (blockId !== undefined) event.id = blockId;
    this.onEvent(event);
  }
}

/** Opens a real SSE connection over node:http; resolves once the response headers (or an error answer) arrive. */
export function openSse(url: string, options: { lastEventId?: string; timeoutMs?: number; key?: string } = {}): Promise<SseConnection> {
  const events: ParsedEvent[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  let cursor = 0;
  let ended = false;
  const parser = new SseParser((event) => {
    events.push(event);
    for (const w of [...waiters]) w();
  }, (text) => comments.push(text));
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;

  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false });
    const timer = realSetTimeout(() => {
      req.destroy();
      reject(new Error(`no answer from ${url} within ${options.timeoutMs ?? 5000} ms`));
    }, options.timeoutMs ?? 5000);
    req.on('error', (error) => {
      realClearTimeout(timer);
      reject(error);
    });
    req.on('response', (res) => {
      realClearTimeout(timer);
      res.setEncoding('utf8');
      let endedResolve: () => void = () => {};
      const endedPromise = new Promise<void>((r) => (endedResolve = r));
      const finish = () => {
        if (ended) return;
        ended = true;
        endedResolve();
        for (const w of [...waiters]) w();
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);

      const connection: SseConnection = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: undefined,
        events,
        comments,
        get lastEventId() {
          return parser.lastEventId;
        },
        ended: endedPromise,
        untilEnded(timeoutMs = 2000) {
          return new Promise<void>((resolveEnd, rejectEnd) => {
            const timeout = realSetTimeout(() => rejectEnd(new Error(`the stream is still open after ${timeoutMs} ms`)), timeoutMs);
            void endedPromise.then(() => {
              realClearTimeout(timeout);
              resolveEnd();
            });
          });
        },
        next(match, timeoutMs = 2000) {
          const test = typeof match === 'string' ? (e: ParsedEvent) => e.event === match : match;
          return new Promise<ParsedEvent>((resolveNext, rejectNext) => {
            const look = (): boolean => {
              for (let i = cursor; i < events.length; i++) {
                if (test(events[i]!)) {
                  cursor = i + 1;
                  resolveNext(events[i]!);
                  return true;
                }
              }
              if (ended) {
                rejectNext(new Error(`stream ended without a matching event; got ${describe(events.slice(cursor))}`));
                return true;
              }
              return false;
            };
            if (look()) return;
            const waiter = () => {
              if (look()) done();
            };
            const timeout = realSetTimeout(() => {
              done();
              rejectNext(new Error(`no matching event within ${timeoutMs} ms; got ${describe(events.slice(cursor))}`));
            }, timeoutMs);
            const done = () => {
              realClearTimeout(timeout);
              waiters.delete(waiter);
            };
            waiters.add(waiter);
          });
        },
        close() {
          req.destroy();
          res.destroy();
        },
      };

      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          try {
            connection.body = JSON.parse(text);
          } catch {
            connection.body = text;
          }
          resolve(connection);
        });
        return;
      }
      res.on('data', (chunk: string) => parser.push(chunk));
      resolve(connection);
    });
    req.end();
  });
}

function describe(events: ParsedEvent[]): string {
  return events.length === 0 ? 'nothing' : events.map((e) => `${e.event}${e.id ? `#${e.id}` : ''}`).join(', ');
}

import { EventSource } from 'eventsource';

/** The daemon answered with an error: its status and its own message. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The daemon could not be reached at all (not running, wrong AUTON_URL). */
export class ConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionError';
  }
}

/** `/agents/a/b`, each segment escaped: ids never hold `/`, so the slashes are the path's own. */
export function agentUrl(path: string, action?: string): string {
  const segments = path.split('/').filter((s) => s.length > 0).map(encodeURIComponent);
  return `/agents/${segments.join('/')}${action ? `/${action}` : ''}`;
}

/** One event as the streams send it: `{type, path, timestamp, id, ...data}` (token events carry no id). */
export type StreamEvent = Record<string, unknown> & { type: string; path: string };

export interface StreamHandlers {
  /** Every event, in order. */
  onEvent(event: StreamEvent): void;
  /** The daemon accepted the stream (events from now on will arrive). */
  onOpen?(): void;
  /** The stream failed for good (a refused key, an agent that went away) or the daemon went away. */
  onError?(error: Error): void;
}

/**
 * A thin client for the daemon's HTTP API: JSON in, JSON out, the API's own error message on failure. SSE streams
 * use the `eventsource` package (reconnects with Last-Event-ID on its own).
 */
export class AutonClient {
  constructor(readonly baseUrl: string, private readonly apiKey?: string) {}

  private headers(json: boolean): Record<string, string> {
    return { ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}), ...(json ? { 'content-type': 'application/json' } : {}) };
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method, headers: this.headers(body !== undefined), ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      throw this.unreachable(error);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    if (!res.ok) {
      const message = typeof parsed === 'object' && parsed !== null && 'message' in parsed ? String(parsed.message) : `${res.status} ${res.statusText}`;
      throw new ApiError(res.status, message);
    }
    return parsed as T;
  }

  get = <T>(path: string) => this.request<T>('GET', path);
  post = <T>(path: string, body?: unknown) => this.request<T>('POST', path, body);

  /** Opens an SSE stream; the returned function closes it. Every named event type reaches `onEvent`. */
  stream(path: string, types: readonly string[], handlers: StreamHandlers): () => void {
    const source = new EventSource(this.baseUrl + path, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...this.headers(false) } }),
    });
    const deliver = (message: MessageEvent<string>) => {
      try {
        handlers.onEvent({ type: message.type, ...(JSON.parse(message.data) as Record<string, unknown>) } as StreamEvent);
      } catch (error) {
        handlers.onError?.(error as Error);
      }
    };
    for (const type of types) source.addEventListener(type, deliver);
    source.onopen = () => handlers.onOpen?.();
    source.onerror = (event) => {
      // A status means the daemon refused the stream (no reconnect follows); without one it went away and
      // the client retries by itself, so only a refusal is final.
      if (event.code !== undefined) {
        source.close();
        handlers.onError?.(new ApiError(event.code, event.message ?? `stream refused (${event.code})`));
      }
    };
    return () => source.close();
  }

  private unreachable(error: unknown): Error {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code === 'ECONNREFUSED' ? 'connection refused' : cause?.code ?? cause?.message ?? (error as Error).message;
    return new ConnectionError(`cannot reach the daemon at ${this.baseUrl} (${why}); start it with \`npm start\`, or point AUTON_URL or --url at it`);
  }
}

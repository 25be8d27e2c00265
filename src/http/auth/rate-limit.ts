/** Past this many distinct clients in one minute, the window starts over (a bound on memory, not a limit). */
const MAX_CLIENTS_PER_WINDOW = 100_000;
const WINDOW_MS = 60_000;

/**
 * Requests per client per minute, in fixed one-minute windows: one synchronous Map lookup per request.
 * (It replaced @fastify/rate-limit, whose async hook, LRU and three headers per answer cost about 5 µs of the
 * ~60 µs a read takes; see BENCHMARKS.md.)
 */
export class RateLimiter {
  private windowStartMs = 0;
  private readonly counts = new Map<string, number>();

  constructor(private readonly perMinute: number, private readonly clock: () => number = Date.now) {}

  /** Counts a request; answers 0 when it is allowed, else the seconds until the client may try again. */
  take(client: string): number {
    const now = this.clock();
    if (now - this.windowStartMs >= WINDOW_MS || this.counts.size >= MAX_CLIENTS_PER_WINDOW) {
      this.windowStartMs = now;
      this.counts.clear();
    }
    const count = (this.counts.get(client) ?? 0) + 1;
    this.counts.set(client, count);
    return count > this.perMinute ? Math.max(1, Math.ceil((this.windowStartMs + WINDOW_MS - now) / 1000)) : 0;
  }
}

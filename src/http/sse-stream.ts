import type { ServerResponse } from 'node:http';

/**
 * One SSE connection with a bounded queue. While the socket drains, frames are written straight through; when
 * the kernel buffer is full they wait in a queue of at most `maxQueued` frames, and past that the stream is
 * closed: a slow client never holds memory or the daemon hostage, and reconnecting with `Last-Event-ID` replays
 * what it missed.
 */
export class SseStream {
  private queue: string[] = [];
  private blocked = false;
  private corked = false;
  private closed = false;
  private readonly onClose: Array<() => void> = [];

  constructor(private readonly res: ServerResponse, private readonly maxQueued: number) {
    res.on('drain', () => this.drain());
    res.on('close', () => this.finish());
    // The client may have gone while the request was being checked: its 'close' has already been emitted.
    if (res.destroyed) this.finish();
  }

  open(headers: Record<string, string> = {}): void {
    if (this.closed) return;
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...headers,
    });
    this.res.flushHeaders();
    this.write(': connected\n\n');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends one frame (already SSE-encoded). */
  write(frame: string): void {
    if (this.closed) return;
    if (this.blocked) {
      if (this.queue.length >= this.maxQueued) {
        this.close();
        return;
      }
      this.queue.push(frame);
      return;
    }
    if (!this.corked) {
      // Frames written in one turn of the event loop (an operation emits several events) leave in one write.
      this.corked = true;
      this.res.cork();
      process.nextTick(() => {
        this.corked = false;
        this.res.uncork();
      });
    }
    if (!this.res.write(frame)) this.blocked = true;
  }

  /**
   * Sends a frame that may be lost (a live token, never replayed): while the client is not keeping up it is
   * dropped, not queued, so tokens never fill the queue that durable events need.
   */
  offer(frame: string): void {
    if (!this.blocked) this.write(frame);
  }

  send(type: string, data: unknown, id?: number): void {
    this.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  whenClosed(fn: () => void): void {
    if (this.closed) fn();
    else this.onClose.push(fn);
  }

  close(): void {
    if (this.closed) return;
    this.res.end();
    this.res.destroy();
    this.finish();
  }

  private drain(): void {
    this.blocked = false;
    while (this.queue.length > 0 && !this.blocked) {
      if (!this.res.write(this.queue.shift()!)) this.blocked = true;
    }
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    for (const fn of this.onClose.splice(0)) fn();
  }
}

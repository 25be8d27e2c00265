import { CommitRetry } from '../commit-retry.js';
import { notWrittenYet } from '../queued-writes.js';

interface Waiter { resolve: () => void; reject: (e: unknown) => void; root?: string | undefined }

/** A batch written, but with some subtrees' writes left out: their waiters (and those that named none) get `error`. */
export interface Refusal { error: Error; roots: ReadonlySet<string> }

/**
 * Group commit for a store whose commits are asynchronous. Items queued in one event-loop turn are written together
 * by `write`; items queued while a commit is under way wait and go together in the next one, so commits never
 * overlap and stay in order. `flush()` resolves once what was queued before it is written. A commit that fails
 * keeps its batch (ahead of newer items), rejects its waiters with a 503 and is retried with back-off; new items
 * join it meanwhile.
 */
export class CommitQueue<T> {
  private queue: T[] = [];
  private inFlight: T[] = [];
  private waiters: Waiter[] = [];
  /** The waiters of the commit under way; a flush with nothing queued waits for it. */
  private inFlightWaiters: Waiter[] | null = null;
  private scheduled = false;
  private running: Promise<void> | null = null;
  private readonly retry = new CommitRetry(() => void this.commitNow());
  private closed = false;
  /** Why the last commit failed, until one succeeds. */
  failure: string | null = null;

  /** `commitNow` is what the scheduled and retried commits call (the store's own `commit`, so tests can count them). */
  /**
   * `write` stores a batch or throws (kept and retried). It may instead return a Refusal: the batch is done, but the
   * writes of some subtrees were left out (under a lease this daemon lost), and the waiters of those subtrees, and
   * those that named no subtree, are refused.
   */
  constructor(
    private readonly write: (batch: T[]) => Promise<Refusal | void>,
    private readonly describe: (error: unknown) => string,
    private readonly commitNow: () => unknown = () => this.commit(),
  ) {}

  push(item: T): void {
    this.queue.push(item);
    this.schedule();
  }

  /** Everything not yet committed, oldest first (the commit under way, then the queue). */
  pending(): T[] {
    return [...this.inFlight, ...this.queue];
  }

  get committing(): boolean {
    return this.running !== null;
  }

  /** `root`: the subtree the caller changed (see Refusal); none, refused whenever anything was left out. */
  flush(root?: string): Promise<void> {
    if (this.queue.length === 0 && !this.scheduled) {
      const running = this.inFlightWaiters;
      if (running === null) return Promise.resolve();
      return new Promise((resolve, reject) => running.push({ resolve, reject, root }));
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject, root }));
  }

  /** Once per event-loop turn; not while a commit runs (it schedules the next) or a failed one waits for its retry. */
  private schedule(): void {
    if (this.scheduled || this.running !== null || this.retry.waiting || this.closed || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => void this.commitNow());
  }

  commit(): Promise<void> {
    this.scheduled = false;
    if (this.running !== null) return this.running;
    this.running = this.commitQueued().finally(() => {
      this.running = null;
      this.schedule();
    });
    return this.running;
  }

  private async commitQueued(): Promise<void> {
    const batch = this.queue;
    const waiters = this.waiters;
    this.queue = [];
    this.waiters = [];
    this.inFlight = batch;
    this.inFlightWaiters = waiters;
    let refused: Refusal | void = undefined;
    try {
      if (batch.length > 0) refused = await this.write(batch);
    } catch (error) {
      this.inFlight = [];
      this.inFlightWaiters = null;
      this.queue = batch.concat(this.queue);
      this.fail(error, waiters);
      return;
    }
    this.inFlight = [];
    this.inFlightWaiters = null;
    this.failure = null;
    this.retry.reset();
    for (const w of waiters) {
      if (refused && (w.root === undefined || refused.roots.has(w.root))) w.reject(refused.error);
      else w.resolve();
    }
  }

  private fail(error: unknown, waiters: Waiter[]): void {
    const message = this.describe(error);
    this.failure = message;
    const notYet = notWrittenYet(message);
    for (const w of waiters) w.reject(notYet);
    if (!this.closed) this.retry.schedule();
  }

  /** A failed commit waiting for its retry is tried now (the database was seen answering again). */
  retryNow(): void {
    if (this.closed || !this.retry.cancel()) return;
    void this.commitNow();
  }

  /** Waits for the commit under way, then commits what is left once more; nothing is retried after this. */
  async close(): Promise<void> {
    this.closed = true;
    this.retry.cancel();
    await this.running?.catch(() => undefined);
    if (this.queue.length > 0) await this.commit(); // a batch that still fails is lost with the process, unacknowledged
  }
}

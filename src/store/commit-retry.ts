/** A failed commit is retried after this, doubling up to the maximum, until it is on disk. */
export const COMMIT_RETRY_MIN_MS = 100;
export const COMMIT_RETRY_MAX_MS = 5_000;

/**
 * The back-off of both stores' group commits (src/store/sqlite-store.ts, src/store/pg/commit-queue.ts): after a
 * failed commit, `retry` runs once on a timer that does not keep the process alive, each failure in a row waiting
 * twice as long; a commit that succeeds starts the wait over.
 */
export class CommitRetry {
  private timer: NodeJS.Timeout | null = null;
  private delayMs = COMMIT_RETRY_MIN_MS;

  constructor(private readonly retry: () => void) {}

  /** A failed batch waits for its retry (new writes join it rather than commit on their own). */
  get waiting(): boolean {
    return this.timer !== null;
  }

  /** After a failed commit. */
  schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.retry();
    }, this.delayMs);
    this.timer.unref();
    this.delayMs = Math.min(this.delayMs * 2, COMMIT_RETRY_MAX_MS);
  }

  /** After a commit that succeeded. */
  reset(): void {
    this.delayMs = COMMIT_RETRY_MIN_MS;
  }

  /** Drops the retry waiting, if any; says whether there was one. */
  cancel(): boolean {
    if (this.timer === null) return false;
    clearTimeout(this.timer);
    this.timer = null;
    return true;
  }
}

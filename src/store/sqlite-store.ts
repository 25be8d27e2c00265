import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AgentRecord, Checkpoint } from '../domain/agent.js';
import type { Approval } from '../domain/approval.js';
import type { AgentEvent } from '../events/types.js';
import { CommitRetry } from './commit-retry.js';
import { cannotWrite, EVENT_ID_BLOCK, EVENTS_BETWEEN_PRUNES, lastEventIdOf, notWrittenYet, QueuedWrites } from './queued-writes.js';
import { openSchema } from './schema.js';
import { SqliteReads } from './sqlite-reads.js';
import { SqliteWrites } from './sqlite-writes.js';
import type { StoreOp } from './store-op.js';
import type { HistoryPage, HistoryRow, Store, StoredState, StoreOptions } from './store.js';
import { approvalsFromRows, EVENT_ID_HIGH_WATER } from './stored-rows.js';

export { COMMIT_RETRY_MAX_MS, COMMIT_RETRY_MIN_MS } from './commit-retry.js';
export { EVENT_ID_BLOCK, EVENTS_BETWEEN_PRUNES } from './queued-writes.js';

export interface SqliteStoreOptions extends StoreOptions {
  /** SQLite's page cache (AUTON_SQLITE_CACHE_MIB; default DEFAULT_SQLITE_CACHE_MIB). */
  cacheMiB?: number;
}

/**
 * SQLite's own default. better-sqlite3 builds with 16 MiB, which filled up over a long agent's first few hundred
 * calls and was a third of the daemon's RSS growth (BENCHMARKS.md, figure 9b); the file's pages stay in the OS's
 * page cache either way, and the store's writes are appends.
 */
export const DEFAULT_SQLITE_CACHE_MIB = 2;

type Op = StoreOp;

/**
 * SQLite in WAL mode. Writes are queued and committed together once per event-loop turn (group commit): every
 * request handled in that turn is durable after one transaction, and `flush()` resolves then. A commit that fails
 * (a full disk, a read-only or removed file) keeps its batch queued, in order, and retries it on a timer with
 * back-off; until it succeeds the store is unhealthy and refuses new operations. synchronous=NORMAL in WAL
 * survives a killed process; set AUTON_DB_SYNC=full to survive power loss too.
 */
export class SqliteStore extends QueuedWrites implements Store {
  private readonly db: Database.Database;
  private readonly reads: SqliteReads;
  private queue: Op[] = [];
  private waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;
  private failure: string | null = null;
  private readonly retry = new CommitRetry(() => this.commit());
  private readonly inode: number | null;
  private eventsSincePrune = 0;
  /** The high-water mark of event ids on disk (see EVENT_ID_BLOCK). */
  private eventIdHighWater = 0;
  private readonly writes: SqliteWrites;

  constructor(private readonly file: string, options: SqliteStoreOptions, sync: 'normal' | 'full' = 'normal') {
    super();
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.pragma(`cache_size = ${-1024 * (options.cacheMiB ?? DEFAULT_SQLITE_CACHE_MIB)}`);
    openSchema(this.db);
    this.inode = file === ':memory:' ? null : statSync(file).ino;
    this.reads = new SqliteReads(this.db, options, (path) => this.queuedEvents(path));
    this.writes = new SqliteWrites(this.db);
  }

  assertWritable(): void {
    if (this.failure !== null) throw cannotWrite(this.failure);
  }

  loadApprovals(): Promise<Approval[]> {
    return Promise.resolve(approvalsFromRows(this.db.prepare('SELECT json FROM approvals').all() as Array<{ json: string }>));
  }

  agentContext(agent: AgentRecord): Promise<HistoryRow[]> {
    return Promise.resolve(this.reads.context(agent.path, { summarySeq: agent.contextSummarySeq, fromSeq: agent.contextFromSeq, toSeq: agent.historyLength }));
  }

  /** Read from disk once what is queued is written (a checkpoint taken in this turn refers to queued rows). */
  async checkpointContext(checkpoint: Checkpoint): Promise<HistoryRow[]> {
    await this.flush();
    return this.reads.checkpointContext(checkpoint);
  }

  /** What is on disk, after the queued rows when they can be written (a page may miss the turn being written). */
  async history(path: string, page: HistoryPage): Promise<HistoryRow[]> {
    await this.flush().catch(() => {});
    return this.reads.history(path, page);
  }

  eventsSince(path: string, scope: 'subtree' | 'self', afterId: number, limit: number): Promise<AgentEvent[] | 'gone'> {
    return Promise.resolve(this.reads.eventsSince(path, scope, afterId, limit));
  }

  recentEvents(path: string, limit: number): Promise<AgentEvent[]> {
    return Promise.resolve(this.reads.recentEvents(path, limit));
  }

  load(): Promise<StoredState> {
    const { checkpoints, ...state } = this.reads.load();
    for (const checkpoint of checkpoints) this.indexCheckpoint(checkpoint);
    this.eventIdHighWater = state.lastEventId;
    return Promise.resolve(state);
  }

  flush(): Promise<void> {
    if (this.queue.length === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  isHealthy(): boolean {
    return this.failure === null && this.db.open;
  }

  problem(): string | null {
    return this.db.open ? this.failure : 'the store is closed';
  }

  private queuedEvents(path: string): AgentEvent[] {
    const events: AgentEvent[] = [];
    for (const op of this.queue) if (op.kind === 'event' && op.event.path === path) events.push(op.event);
    return events;
  }

  protected push(op: Op): void {
    this.queue.push(op);
    // While a failed batch waits for its retry, new writes join it and go with it.
    if (!this.scheduled && !this.retry.waiting) {
      this.scheduled = true;
      setImmediate(() => this.commit());
    }
  }

  /**
   * Writes everything queued in one transaction, then answers every waiter. On failure nothing of the batch is
   * on disk: it stays queued for the retry, and the waiters learn that their change is not durable yet.
   */
  commit(): void {
    this.scheduled = false;
    if (!this.db.open) return;
    const ops = this.queue;
    const waiters = this.waiters;
    this.waiters = [];
    let highWater = this.eventIdHighWater;
    try {
      this.checkFile();
      if (ops.length > 0) {
        this.db.transaction(() => {
          for (const op of ops) this.writes.apply(op);
          const lastId = lastEventIdOf(ops);
          if (lastId > highWater) {
            highWater = lastId + EVENT_ID_BLOCK;
            this.writes.setMeta(EVENT_ID_HIGH_WATER, highWater);
          }
        })();
      }
    } catch (error) {
      this.fail(error, waiters);
      return;
    }
    this.queue = this.queue.slice(ops.length); // ops pushed during the commit (none today) stay for the next
    this.pendingAgents.clear();
    this.eventIdHighWater = highWater;
    this.eventsSincePrune += ops.filter((op) => op.kind === 'event').length;
    this.failure = null;
    this.retry.reset();
    for (const w of waiters) w.resolve();
    if (this.eventsSincePrune > EVENTS_BETWEEN_PRUNES) {
      this.eventsSincePrune = 0;
      try {
        this.reads.prune();
      } catch { /* pruning is housekeeping: the next prune tries again */ }
    }
  }

  private fail(error: unknown, waiters: Array<{ reject: (e: unknown) => void }>): void {
    const message = error instanceof Error ? error.message : String(error);
    this.failure = message;
    const notYet = notWrittenYet(message);
    for (const w of waiters) w.reject(notYet);
    this.retry.schedule();
  }

  /** SQLite keeps writing to a database file that was removed (to its unlinked inode): refuse rather than lose. */
  private checkFile(): void {
    if (this.inode === null) return;
    let inode: number | null = null;
    try {
      inode = statSync(this.file).ino;
    } catch { /* gone */ }
    if (inode !== this.inode) throw new Error(`the database file ${this.file} was removed or replaced`);
  }

  /** Commits what is queued; after a clean close numbering resumes right after the last event, without a gap. */
  close(): Promise<void> {
    this.closeNow();
    return Promise.resolve();
  }

  private closeNow(): void {
    if (!this.db.open) return;
    this.retry.cancel();
    this.commit();
    this.retry.cancel(); // a batch that still fails is lost with the process, unacknowledged
    try {
      if (this.failure === null && this.lastAppendedEventId > 0) this.writes.setMeta(EVENT_ID_HIGH_WATER, this.lastAppendedEventId);
    } finally {
      this.db.close();
    }
  }
}


import { DatabaseStartError, describeConnectionError, openDatabase } from '../../cluster/pg/connect.js';
import type { Db, DbOptions } from '../../cluster/pg/db.js';
import { migrate, SchemaTooNewError } from '../../cluster/pg/migrate.js';
import type { AgentRecord, Checkpoint } from '../../domain/agent.js';
import { storeUnavailable } from '../../domain/errors.js';
import type { Approval } from '../../domain/approval.js';
import type { AgentEvent } from '../../events/types.js';
import { cannotWrite, EVENT_ID_BLOCK, EVENTS_BETWEEN_PRUNES, lastEventIdOf, QueuedWrites } from '../queued-writes.js';
import type { HistoryPage, HistoryRow, Store, StoredState, StoreOptions } from '../store.js';
import { approvalsFromRows, EVENT_ID_HIGH_WATER, EVENTS_PRUNED_THROUGH, inlineContext } from '../stored-rows.js';
import { LeaseLostError } from '../../cluster/leases.js';
import { planBatch, type Op } from './batch.js';
import { CommitQueue, type Refusal } from './commit-queue.js';
import { rootOf } from '../../domain/subtree-path.js';
import { deleteLeases, fenceBatch, purgedRoots, sortByLease, underLease, type FencedOp, type Fencing } from './fencing.js';
import {
  pruneEvents, readContext, readEventsSince, readHistory, readMeta, readRecentEvents, readState, readSubtreeApprovals, writeMeta,
} from './pg-reads.js';

export type PgStoreOptions = StoreOptions;

/** While no commit proves the database answers, a probe does this often, so /readyz follows the database. */
export const DB_PROBE_INTERVAL_MS = 1_000;

/**
 * The store on PostgreSQL, with the SQLite store's semantics (src/store/sqlite-store.ts): writes are queued and
 * committed together, everything queued in one event-loop turn in one transaction of a few multi-row statements
 * (src/store/pg/batch.ts); `flush()` resolves once what was queued before it is committed. A commit runs
 * asynchronously: operations queued meanwhile wait and go together in the next one, so commits never overlap and
 * stay in order. A commit that fails keeps its batch queued (ahead of newer writes) and is retried with back-off;
 * until it succeeds, and while the database does not answer the probe, the store is unhealthy and refuses new
 * operations with a 503.
 *
 * Alone on its database (tests), event ids are reserved in the same transaction as the events (EVENT_ID_BLOCK).
 * In a daemon, the store is fenced (src/store/pg/fencing.ts): it holds only the subtrees this daemon leases, loads
 * them as they are adopted, stores a write only under the lease epoch it was made under, and event ids come from
 * the database's blocks (src/cluster/event-ids.ts).
 */
export class PgStore extends QueuedWrites implements Store {
  private readonly commits: CommitQueue<FencedOp>;
  private probeFailure: string | null = null;
  private probing = false;
  private closed = false;
  private readonly probeTimer: NodeJS.Timeout;
  private eventsSincePrune = 0;
  private prunedThroughEventId = 0;
  private eventIdHighWater = 0;

  /** Connects (a failure is a one-line DatabaseStartError) and brings the schema up to date. */
  static async connect(url: string, options: DbOptions = {}): Promise<Db> {
    const db = await openDatabase(url, options);
    try {
      await migrate(db);
    } catch (error) {
      await db.close().catch(() => undefined);
      if (error instanceof SchemaTooNewError || error instanceof DatabaseStartError) throw error;
      // A role that may log in but not create tables (PostgreSQL 15: only the database owner may, by default).
      throw new DatabaseStartError(describeConnectionError(error, url));
    }
    return db;
  }

  /** On a migrated database; the store closes `db` when it closes. */
  constructor(private readonly db: Db, private readonly url: string, private readonly options: PgStoreOptions, private readonly fencing?: Fencing) {
    super();
    this.commits = new CommitQueue((ops) => this.write(ops), (error) => describeConnectionError(error, url), () => this.commit());
    this.probeTimer = setInterval(() => void this.probe(), DB_PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }

  assertWritable(): void {
    const failure = this.problem();
    if (failure !== null) throw cannotWrite(failure);
  }

  async loadApprovals(): Promise<Approval[]> {
    return approvalsFromRows((await this.db.query<{ json: string }>('SELECT json FROM approvals')).rows);
  }

  /**
   * A subtree this daemon has just leased (at start or taking over from another daemon): its agents as `load()`
   * gives them, its checkpoints indexed, its approvals. No events: replay reads them from the database.
   */
  async loadSubtrees(roots: readonly string[]): Promise<{ agents: AgentRecord[]; approvals: Approval[] }> {
    const { checkpoints, agents } = await readState(this.db, 0, roots);
    for (const checkpoint of checkpoints) this.indexCheckpoint(checkpoint);
    return { agents, approvals: await readSubtreeApprovals(this.db, roots) };
  }

  /** A subtree this daemon no longer leases: forget what it kept of it (its queued writes are refused at commit). */
  unloadSubtree(root: string): void {
    for (const path of this.checkpointIndex.keys()) if (rootOf(path) === root) this.checkpointIndex.delete(path);
    for (const path of this.pendingAgents) if (rootOf(path) === root) this.pendingAgents.delete(path);
  }

  agentContext(agent: AgentRecord): Promise<HistoryRow[]> {
    return readContext(this.db, agent.path, { summarySeq: agent.contextSummarySeq, fromSeq: agent.contextFromSeq, toSeq: agent.historyLength });
  }

  async checkpointContext(checkpoint: Checkpoint): Promise<HistoryRow[]> {
    if (!checkpoint.context) return inlineContext(checkpoint);
    await this.flush(); // a checkpoint taken in this turn refers to queued rows
    return readContext(this.db, checkpoint.path, checkpoint.context);
  }

  async history(path: string, page: HistoryPage): Promise<HistoryRow[]> {
    await this.flush().catch(() => {});
    return readHistory(this.db, path, page);
  }

  async eventsSince(path: string, scope: 'subtree' | 'self', afterId: number, limit: number): Promise<AgentEvent[] | 'gone'> {
    // Other daemons prune too: ask the database how far.
    if (this.fencing) this.prunedThroughEventId = Math.max(this.prunedThroughEventId, (await readMeta(this.db, EVENTS_PRUNED_THROUGH)) ?? 0);
    if (afterId < this.prunedThroughEventId) return 'gone';
    return readEventsSince(this.db, path, scope, afterId, limit);
  }

  /** Taken before the query: events of the commit under way are on disk or here, and appear once either way. */
  async recentEvents(path: string, limit: number): Promise<AgentEvent[]> {
    const waiting = this.commits.pending().flatMap(({ op }) => op.kind === 'event' && op.event.path === path ? [op.event] : []);
    const byId = new Map((await readRecentEvents(this.db, path, limit)).map((e) => [e.id, e]));
    for (const event of waiting) byId.set(event.id, event);
    const events = [...byId.values()].sort((a, b) => a.id - b.id);
    return events.length > limit ? events.slice(-limit) : events;
  }

  async load(): Promise<StoredState> {
    const { checkpoints, ...state } = await readState(this.db, this.options.eventsLoadedAtStart);
    this.checkpointIndex.clear();
    for (const checkpoint of checkpoints) this.indexCheckpoint(checkpoint);
    this.eventIdHighWater = state.lastEventId;
    this.prunedThroughEventId = state.firstRetainedEventId - 1;
    return state;
  }

  flush(path?: string): Promise<void> {
    return this.commits.flush(path === undefined || !this.fencing ? undefined : rootOf(path));
  }

  isHealthy(): boolean {
    return this.problem() === null;
  }

  problem(): string | null {
    return this.closed ? 'the store is closed' : this.commits.failure ?? this.probeFailure;
  }

  protected push(op: Op): void {
    this.commits.push(underLease(op, this.fencing));
  }

  /** Commits what is queued now (the group commit calls it once per event-loop turn). */
  commit(): Promise<void> {
    return this.commits.commit();
  }

  /**
   * One batch in one transaction: the fence, its statements, the event-id reservation (unfenced) and, now and then,
   * the pruning of old events. Throws (nothing of the batch committed) for the queue to retry. Writes made under a
   * lease this daemon no longer holds are left out, and the batch's waiters are refused (nothing acknowledged that
   * is not stored).
   */
  private async write(batch: FencedOp[]): Promise<Refusal | void> {
    this.pendingAgents.clear(); // saved again from now on: queued again, written as it is then
    // A lease found lost at the fence rolls the transaction back; the rest of the batch is written at once without
    // that subtree (the fence has marked it lost, so sorting again leaves it out), and only its waiters are refused.
    const lost = new Set<string>();
    for (;;) {
      try {
        const dropped = await this.writeOnce(batch);
        for (const root of lost) dropped.add(root);
        if (dropped.size === 0) return;
        return {
          roots: dropped,
          error: storeUnavailable(`this daemon lost its lease on ${[...dropped].join(', ')} before the change was stored, and did not store it; `
            + 'another daemon owns it now: send the request again'),
        };
      } catch (error) {
        // Another daemon owns the subtree now: stop it here, and write the rest without it.
        if (!(error instanceof LeaseLostError) || lost.has(error.root)) throw error;
        this.fencing?.lost(error.root, error.epoch);
        lost.add(error.root);
      }
    }
  }

  /** The batch in one transaction, less the writes under leases no longer held; returns the roots left out. */
  private async writeOnce(batch: FencedOp[]): Promise<Set<string>> {
    const { ops, epochs, dropped } = sortByLease(batch, this.fencing);
    const purged = this.fencing ? purgedRoots(ops) : new Set<string>();
    const statements = planBatch(ops);
    const eventCount = ops.reduce((n, op) => n + (op.kind === 'event' ? 1 : 0), 0);
    const lastId = this.fencing ? 0 : lastEventIdOf(ops);
    const prune = this.eventsSincePrune + eventCount > EVENTS_BETWEEN_PRUNES;
    let highWater = this.eventIdHighWater;
    let prunedThrough = this.prunedThroughEventId;
    await this.db.transaction(async (tx) => {
      if (this.fencing) await fenceBatch(tx, this.fencing.owner, epochs);
      for (const s of statements) await tx.query(s.text, s.values);
      if (this.fencing) await deleteLeases(tx, this.fencing.owner, epochs, purged);
      if (lastId > highWater) {
        highWater = lastId + EVENT_ID_BLOCK;
        await writeMeta(tx, EVENT_ID_HIGH_WATER, highWater);
      }
      if (prune) prunedThrough = await pruneEvents(tx, this.options.eventsRetained, prunedThrough);
    });
    this.eventsSincePrune = prune ? 0 : this.eventsSincePrune + eventCount;
    this.eventIdHighWater = highWater;
    this.prunedThroughEventId = prunedThrough;
    this.probeFailure = null; // a commit is the best proof the database answers
    for (const root of purged) this.fencing?.released(root, epochs.get(root)!);
    return dropped;
  }

  /** Between commits, asks the database whether it answers; a commit's own outcome speaks for it otherwise. */
  private async probe(): Promise<void> {
    if (this.probing || this.commits.committing || this.closed) return;
    this.probing = true;
    try {
      await this.db.query('SELECT 1');
      this.probeFailure = null;
      this.commits.retryNow(); // the database answers again: a failed commit need not sit out its back-off
    } catch (error) {
      this.probeFailure = describeConnectionError(error, this.url);
    } finally {
      this.probing = false;
    }
  }

  /** Commits what is queued (once more if it failed); after a clean close numbering resumes right after the last event. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.probeTimer);
    try {
      await this.commits.close();
      if (!this.fencing && this.commits.failure === null && this.lastAppendedEventId > 0) await writeMeta(this.db, EVENT_ID_HIGH_WATER, this.lastAppendedEventId);
    } catch { /* the database is gone: nothing more can be written */ } finally {
      await this.db.close().catch(() => undefined);
    }
  }
}

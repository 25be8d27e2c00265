import type { AgentRecord, Checkpoint, HistoryKind, InboxItem, TurnJson } from '../domain/agent.js';
import type { Approval } from '../domain/approval.js';
import type { AgentEvent } from '../events/types.js';

export interface StoreOptions {
  /** Events kept in the database; older ones are pruned (never a checkpoint's history). */
  eventsRetained: number;
  /** Events loaded into memory at start for replay. */
  eventsLoadedAtStart: number;
}

/** Everything needed to bring the tree back at start. */
export interface StoredState {
  /** Parents before children, each with its inbox; the context (`conversation` + `contextSeqs`) of those with work
   * to do (running, correcting, spawning, or idle with waiting items), the others marked `contextLoaded: false`. */
  agents: AgentRecord[];
  events: AgentEvent[]; // the most recent, oldest first
  /** Ids up to here may have been handed out (to SSE clients too); numbering continues after it. */
  lastEventId: number;
  /** Events before this id may have been pruned. */
  firstRetainedEventId: number;
}

/** One row of an agent's history as a transcript shows it. */
export interface HistoryRow {
  seq: number;
  kind: HistoryKind;
  json: TurnJson;
}

export interface HistoryPage {
  /** Rows after this seq (ascending) or before it (descending); none: from the start or the end. */
  after?: number;
  limit: number;
  order: 'asc' | 'desc';
  /** Only rows before this seq (a checkpoint's history). */
  beforeSeq?: number;
}

/**
 * The persistence interface, for SQLite (src/store/sqlite-store.ts) and PostgreSQL (src/store/pg/pg-store.ts).
 *
 * History model. Each agent's history is a list of rows `(path, seq, kind, json)`, `kind` a turn or a compaction
 * summary, appended and never rewritten shorter (the one rewrite in place is the last row gaining waiting
 * messages before it is answered). The agent's row keeps where its context starts: `contextSummarySeq` (the
 * summary opening it, if any) and `contextFromSeq` (ordinary turns from there on are the context), so a restart
 * rebuilds exactly the prompt the agent would have sent. A checkpoint records that reference (plus the end of the
 * history at the time) rather than a copy; restart and fork append the checkpoint's context as new rows.
 * Inbox items are rows of their own; taking the inbox deletes them in the same commit as the turn that used them.
 *
 * Writes are queued and made durable together (group commit); `flush()` resolves once everything queued before
 * it is on disk, and the HTTP layer awaits it before acknowledging. A commit that fails stays queued and is
 * retried; meanwhile `assertWritable()` throws (a 503) so callers refuse new operations before changing memory.
 * Reads that memory cannot answer return promises.
 */
export interface Store {
  /** Throws a STORE_UNAVAILABLE domain error when writes cannot be accepted now. */
  assertWritable(): void;
  /** The agent's own small fields (state, counters, where its context starts). */
  saveAgent(agent: AgentRecord): void;
  deleteAgent(path: string): void;
  appendTurn(path: string, seq: number, kind: HistoryKind, json: TurnJson): void;
  replaceTurn(path: string, seq: number, json: TurnJson): void;
  addInboxItem(path: string, seq: number, item: InboxItem): void;
  /** Removes the agent's inbox items numbered below `beforeSeq`. */
  takeInbox(path: string, beforeSeq: number): void;
  appendEvent(event: AgentEvent): void;
  saveCheckpoint(checkpoint: Checkpoint): void;
  /** Writes an approval as it is now (asked, decided, expired); deleteAgent removes the agent's approvals. */
  saveApproval(approval: Approval): void;

  loadCheckpoint(path: string, id: string): Promise<Checkpoint | undefined>;
  listCheckpoints(path: string): Promise<Checkpoint[]>;
  /** The rows of an agent's context as its row says (summary first), for an agent whose context was not loaded. */
  agentContext(agent: AgentRecord): Promise<HistoryRow[]>;
  /** The rows a checkpoint's context is made of, summary first. */
  checkpointContext(checkpoint: Checkpoint): Promise<HistoryRow[]>;
  /** A page of an agent's whole stored history. */
  history(path: string, page: HistoryPage): Promise<HistoryRow[]>;
  /** Events in a subtree (or of one agent) after a cursor, for replay beyond what memory keeps; `gone` when
   * events after the cursor were already pruned. */
  eventsSince(path: string, scope: 'subtree' | 'self', afterId: number, limit: number): Promise<AgentEvent[] | 'gone'>;
  /** The last `limit` events of one agent, oldest first, counting those still waiting for their commit (`/log`). */
  recentEvents(path: string, limit: number): Promise<AgentEvent[]>;
  load(): Promise<StoredState>;
  /** Every stored approval, oldest first (start-up: the pending ones wait again, the rest answer a 409). */
  loadApprovals(): Promise<Approval[]>;
  /**
   * Resolves once everything queued before it is durable. `path` names the agent the caller changed: on a fenced
   * store, a commit that had to leave out another subtree's writes (a lease lost) then refuses only the callers of
   * that subtree, not this one.
   */
  flush(path?: string): Promise<void>;
  isHealthy(): boolean;
  /** Why the store is not healthy (for /readyz), or null. */
  problem(): string | null;
  /** Writes what is queued (one more try if it fails) and lets go of the database. */
  close(): Promise<void>;
}

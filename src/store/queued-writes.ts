import type { AgentRecord, Checkpoint, HistoryKind, InboxItem, TurnJson } from '../domain/agent.js';
import type { Approval } from '../domain/approval.js';
import { storeUnavailable, type DomainError } from '../domain/errors.js';
import type { AgentEvent } from '../events/types.js';
import type { StoreOp } from './store-op.js';

/**
 * Event ids are handed to SSE clients as soon as they are published, a moment before the group commit makes the
 * events durable. Each commit records, in the same transaction, a high-water mark this far past the ids it
 * writes; after an unclean stop numbering resumes past it, so the ids of the last uncommitted turn are not reused.
 */
export const EVENT_ID_BLOCK = 1_000;
/** Events appended between two prunes of the events table. */
export const EVENTS_BETWEEN_PRUNES = 10_000;

/** Refused before anything changed in memory (`assertWritable`). */
export function cannotWrite(reason: string): DomainError {
  return storeUnavailable(`the store cannot write (${reason}); nothing was changed, try again later`);
}

/** What the waiters of a failed commit learn: the change is made in memory, and on disk once the retry succeeds. */
export function notWrittenYet(reason: string): DomainError {
  return storeUnavailable(`the store cannot write (${reason}); the change is made and will be written when the store recovers`);
}

/** The id of the batch's last event, 0 when it has none (ids only grow, so it is the highest). */
export function lastEventIdOf(ops: readonly StoreOp[]): number {
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i]!;
    if (op.kind === 'event') return op.event.id;
  }
  return 0;
}

/**
 * The write half of both stores (src/store/sqlite-store.ts, src/store/pg/pg-store.ts): each write becomes a StoreOp
 * queued, in order, for the next group commit, which is the store's own (`push`: a transaction, fencing, retries).
 * Checkpoints are few and small: both stores index them in memory as they are saved and loaded, and answer from it.
 */
export abstract class QueuedWrites {
  /** Agents with a queued row: saved again before the commit, they are written once, as they are at commit time. */
  protected readonly pendingAgents = new Set<string>();
  protected readonly checkpointIndex = new Map<string, Checkpoint[]>();
  /** The highest event id queued so far (a clean close records it, so numbering resumes without a gap). */
  protected lastAppendedEventId = 0;

  /** Queues one write for the next commit. */
  protected abstract push(op: StoreOp): void;

  saveAgent(agent: AgentRecord): void {
    if (this.pendingAgents.has(agent.path)) return; // already queued; written as it is at commit time
    this.pendingAgents.add(agent.path);
    this.push({ kind: 'agent', agent });
  }

  deleteAgent(path: string): void {
    this.pendingAgents.delete(path);
    this.checkpointIndex.delete(path);
    this.push({ kind: 'delete', path });
  }

  appendTurn(path: string, seq: number, rowKind: HistoryKind, json: TurnJson): void {
    this.push({ kind: 'turn', path, seq, rowKind, json });
  }

  replaceTurn(path: string, seq: number, json: TurnJson): void {
    this.push({ kind: 'replaceTurn', path, seq, json });
  }

  addInboxItem(path: string, seq: number, item: InboxItem): void {
    this.push({ kind: 'inbox', path, seq, item });
  }

  takeInbox(path: string, beforeSeq: number): void {
    this.push({ kind: 'takeInbox', path, beforeSeq });
  }

  /** Called as each event is published, before any client sees it. */
  appendEvent(event: AgentEvent): void {
    this.lastAppendedEventId = Math.max(this.lastAppendedEventId, event.id);
    this.push({ kind: 'event', event });
  }

  saveCheckpoint(checkpoint: Checkpoint): void {
    this.indexCheckpoint(checkpoint);
    this.push({ kind: 'checkpoint', checkpoint });
  }

  saveApproval(approval: Approval): void {
    this.push({ kind: 'approval', approval: { ...approval } }); // a copy: written as it is now, not at commit time
  }

  loadCheckpoint(path: string, id: string): Promise<Checkpoint | undefined> {
    return Promise.resolve(this.checkpointIndex.get(path)?.find((c) => c.id === id));
  }

  listCheckpoints(path: string): Promise<Checkpoint[]> {
    return Promise.resolve([...this.checkpointIndex.get(path) ?? []]);
  }

  protected indexCheckpoint(checkpoint: Checkpoint): void {
    const list = this.checkpointIndex.get(checkpoint.path) ?? [];
    list.push(checkpoint);
    this.checkpointIndex.set(checkpoint.path, list);
  }
}

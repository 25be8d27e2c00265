import type { Sql } from '../../cluster/pg/db.js';
import { LeaseLostError } from '../../cluster/leases.js';
import { rootOf } from '../../domain/subtree-path.js';
import type { StoreOp } from '../store-op.js';

/**
 * What the PostgreSQL store needs of this daemon's leases (src/cluster/node.ts) to fence its writes: every write is
 * tagged with the epoch of its root's lease when it is queued, and a commit stores it only while that lease is
 * still this daemon's, at that epoch (src/cluster/leases.ts, `fence`).
 */
export interface Fencing {
  readonly owner: string;
  /** The epoch of this daemon's lease on `root`; undefined when it holds none. */
  epochOf(root: string): number | undefined;
  /** A commit found the lease on `root` moved on: the daemon must stop the subtree at once. */
  lost(root: string, epoch: number): void;
  /** The root agent was purged and its lease row deleted with it: nothing is left to own. */
  released(root: string, epoch: number): void;
}

/** A queued write with the lease it was made under. */
export interface FencedOp {
  op: StoreOp;
  root: string;
  /** 0 when the store is not fenced (one daemon); -1 when the daemon held no lease on the root. */
  epoch: number;
}

/** A write as it is queued, tagged with the epoch of this daemon's lease on its root (none: -1). */
export function underLease(op: StoreOp, fencing: Fencing | undefined): FencedOp {
  if (!fencing) return { op, root: '', epoch: 0 };
  const root = rootOf(pathOf(op));
  return { op, root, epoch: fencing.epochOf(root) ?? -1 };
}

/**
 * At commit: the writes still under a lease this daemon holds at the epoch they were made under, those epochs, and
 * the roots whose writes are left out (their waiters are refused).
 */
export function sortByLease(batch: readonly FencedOp[], fencing: Fencing | undefined): { ops: StoreOp[]; epochs: Map<string, number>; dropped: Set<string> } {
  const epochs = new Map<string, number>();
  const dropped = new Set<string>();
  if (!fencing) return { ops: batch.map((f) => f.op), epochs, dropped };
  const ops: StoreOp[] = [];
  for (const { op, root, epoch } of batch) {
    if (epoch > 0 && fencing.epochOf(root) === epoch) {
      ops.push(op);
      epochs.set(root, epoch);
    } else dropped.add(root);
  }
  return { ops, epochs, dropped };
}

export function pathOf(op: StoreOp): string {
  switch (op.kind) {
    case 'agent': return op.agent.path;
    case 'event': return op.event.path;
    case 'checkpoint': return op.checkpoint.path;
    case 'approval': return op.approval.path;
    default: return op.path;
  }
}

/**
 * Roots the batch purges for good: a root's own deletion with no later write under that root in the batch but events
 * (a root spawned again right after its purge keeps its lease).
 */
export function purgedRoots(ops: readonly StoreOp[]): Set<string> {
  const purged = new Set<string>();
  for (const op of ops) {
    const path = pathOf(op);
    if (op.kind === 'delete' && !path.includes('/')) purged.add(path);
    else if (op.kind !== 'event') purged.delete(rootOf(path));
  }
  return purged;
}

/** Deletes the lease rows of purged roots (in the batch's transaction, after its fence). */
export async function deleteLeases(tx: Sql, owner: string, epochs: ReadonlyMap<string, number>, roots: ReadonlySet<string>): Promise<void> {
  if (roots.size === 0) return;
  const list = [...roots];
  await tx.query(
    'DELETE FROM subtree_leases WHERE owner = $1 AND (root_path, epoch) IN (SELECT * FROM unnest($2::text[], $3::bigint[]))',
    [owner, list, list.map((r) => epochs.get(r)!)],
  );
}

/**
 * The fencing check of a whole batch, first in its transaction: one statement locks the lease rows of every root the
 * batch writes FOR SHARE (a takeover waits for the commit) and proves each is still ours at the epoch the writes were
 * made under. Throws LeaseLostError naming a root that moved on (the transaction rolls back).
 */
export async function fenceBatch(tx: Sql, owner: string, epochs: ReadonlyMap<string, number>): Promise<void> {
  if (epochs.size === 0) return;
  const roots = [...epochs.keys()];
  const { rows } = await tx.query<{ root_path: string }>(
    `SELECT root_path FROM subtree_leases
      WHERE owner = $1 AND (root_path, epoch) IN (SELECT * FROM unnest($2::text[], $3::bigint[]))
      ORDER BY root_path FOR SHARE`,
    [owner, roots, roots.map((r) => epochs.get(r)!)],
  );
  if (rows.length === roots.length) return;
  const held = new Set(rows.map((r) => r.root_path));
  const lost = roots.find((r) => !held.has(r))!;
  throw new LeaseLostError(lost, epochs.get(lost)!);
}

import type { Sql } from './pg/db.js';

/**
 * Ownership of root subtrees, one row per root in `subtree_leases` (migration 1). A daemon owns a root while its
 * lease is unexpired; each acquisition raises the epoch, and every write of the owner checks it (`fence`), so a
 * daemon that lost its lease — paused, partitioned, slow — has its writes refused instead of corrupting state.
 *
 * Times are the caller's clock (ms since the epoch), so tests drive them; daemons need clocks that agree to well
 * under the TTL (NTP). Skew only moves when a takeover may happen: safety rests on the epoch, not on clocks.
 */
export interface Lease {
  root: string;
  owner: string;
  epoch: number;
  /** When it expires unless renewed, by the clock that acquired or last renewed it. */
  untilMs: number;
}

/** A fenced write found its lease taken or moved on: the write is refused and the transaction rolled back. */
export class LeaseLostError extends Error {
  constructor(readonly root: string, readonly epoch: number) {
    super(`the lease on ${root} (epoch ${epoch}) is no longer held by this daemon`);
    this.name = 'LeaseLostError';
  }
}

/** A time of the caller's clock as a timestamptz parameter. */
export const ts = (ms: number) => new Date(ms).toISOString();

/**
 * Takes `root` when it is free (never leased, released) or expired, with the epoch one above the last; null when
 * another daemon holds it. Two daemons racing for the same root: PostgreSQL serialises them on the row, the second
 * re-reads the winner's lease and finds it live, so exactly one gets it.
 */
export async function acquireLease(sql: Sql, root: string, owner: string, nowMs: number, ttlMs: number): Promise<Lease | null> {
  const { rows } = await sql.query<{ epoch: string }>(
    `INSERT INTO subtree_leases AS l (root_path, owner, epoch, lease_until) VALUES ($1, $2, 1, $3)
     ON CONFLICT (root_path) DO UPDATE SET owner = EXCLUDED.owner, epoch = l.epoch + 1, lease_until = EXCLUDED.lease_until
       WHERE l.lease_until <= $4
     RETURNING epoch`,
    [root, owner, ts(nowMs + ttlMs), ts(nowMs)],
  );
  const row = rows[0];
  return row ? { root, owner, epoch: Number(row.epoch), untilMs: nowMs + ttlMs } : null;
}

/**
 * Failover: takes up to `limit` roots whose leases have expired or were released (released first, then the oldest
 * expiry), each at its next epoch. Rows another daemon is claiming or writing under right now are skipped, not
 * waited for (SKIP LOCKED), so daemons scanning together split the orphans between them instead of queueing.
 */
export async function claimExpiredLeases(sql: Sql, owner: string, nowMs: number, ttlMs: number, limit: number): Promise<Lease[]> {
  const { rows } = await sql.query<{ root_path: string; epoch: string }>(
    `WITH orphan AS (
       SELECT root_path FROM subtree_leases WHERE lease_until <= $2
        ORDER BY lease_until, root_path LIMIT $4 FOR UPDATE SKIP LOCKED
     )
     UPDATE subtree_leases l SET owner = $1, epoch = l.epoch + 1, lease_until = $3
       FROM orphan WHERE l.root_path = orphan.root_path
     RETURNING l.root_path, l.epoch`,
    [owner, ts(nowMs), ts(nowMs + ttlMs), limit],
  );
  return rows.map((r) => ({ root: r.root_path, owner, epoch: Number(r.epoch), untilMs: nowMs + ttlMs }))
    .sort((a, b) => a.root.localeCompare(b.root));
}

/** Every lease recorded under `owner`, taken again at its next epoch (a restart under the same daemon id). */
export async function reclaimOwnLeases(sql: Sql, owner: string, nowMs: number, ttlMs: number): Promise<Lease[]> {
  const { rows } = await sql.query<{ root_path: string; epoch: string }>(
    'UPDATE subtree_leases SET epoch = epoch + 1, lease_until = $2 WHERE owner = $1 RETURNING root_path, epoch',
    [owner, ts(nowMs + ttlMs)],
  );
  return rows.map((r) => ({ root: r.root_path, owner, epoch: Number(r.epoch), untilMs: nowMs + ttlMs }));
}

/**
 * How many orphaned roots (expired or released leases) this daemon should take in one scan: its fair share among
 * the live daemons, so daemons scanning together (a restart of them all, say) split the orphans instead of the first
 * to look taking every one. 0 when there are none.
 */
export async function orphanShare(sql: Sql, nowMs: number, ttlMs: number): Promise<number> {
  const { rows } = await sql.query<{ orphans: string; live: string }>(
    `SELECT (SELECT count(*) FROM subtree_leases WHERE lease_until <= $1) AS orphans,
            (SELECT count(*) FROM daemons WHERE NOT draining AND heartbeat_at > $2) AS live`,
    [ts(nowMs), ts(nowMs - ttlMs)],
  );
  const orphans = Number(rows[0]?.orphans ?? 0);
  return orphans === 0 ? 0 : Math.ceil(orphans / Math.max(1, Number(rows[0]?.live ?? 1)));
}

/** Roots stored before leases existed (one daemon's database): a released lease each, for the first daemon to take. */
export async function leaseUnleasedRoots(sql: Sql): Promise<void> {
  await sql.query(
    `INSERT INTO subtree_leases (root_path, owner, epoch, lease_until)
     SELECT path, '', 1, '-infinity' FROM agents WHERE strpos(path, '/') = 0
     ON CONFLICT (root_path) DO NOTHING`,
  );
}

/** Who holds `root` now, for routing a request: absent when no daemon ever leased it. */
export interface LeaseHolder { owner: string; epoch: number; untilMs: number; address: string | null }

export async function leaseHolder(sql: Sql, root: string): Promise<LeaseHolder | undefined> {
  const { rows } = await sql.query<{ owner: string; epoch: string; until_ms: string | null; address: string | null }>(
    `SELECT l.owner, l.epoch, CASE WHEN isfinite(l.lease_until) THEN extract(epoch FROM l.lease_until) * 1000 END AS until_ms, d.address
       FROM subtree_leases l LEFT JOIN daemons d ON d.id = l.owner WHERE l.root_path = $1`,
    [root],
  );
  const r = rows[0];
  return r && { owner: r.owner, epoch: Number(r.epoch), untilMs: r.until_ms === null ? -Infinity : Number(r.until_ms), address: r.address };
}

/**
 * Extends every lease in `leases` (one daemon's) in one statement. Conditional on owner and epoch: a lease that
 * moved on is not renewed. Returns the roots still held, with their new expiry; the others are lost.
 */
export async function renewLeases(sql: Sql, owner: string, leases: readonly Lease[], nowMs: number, ttlMs: number): Promise<Lease[]> {
  if (leases.length === 0) return [];
  const { rows } = await sql.query<{ root_path: string }>(
    `UPDATE subtree_leases l SET lease_until = $4
       FROM unnest($2::text[], $3::bigint[]) AS held(root_path, epoch)
      WHERE l.root_path = held.root_path AND l.epoch = held.epoch AND l.owner = $1
      RETURNING l.root_path`,
    [owner, leases.map((l) => l.root), leases.map((l) => l.epoch), ts(nowMs + ttlMs)],
  );
  const kept = new Set(rows.map((r) => r.root_path));
  return leases.filter((l) => kept.has(l.root)).map((l) => ({ ...l, untilMs: nowMs + ttlMs }));
}

/**
 * Gives `lease` up at once (drain): it expires at minus infinity, so any daemon may take it now, whatever its
 * clock says. False when it was already lost.
 */
export async function releaseLease(sql: Sql, lease: Lease): Promise<boolean> {
  const { rowCount } = await sql.query(
    `UPDATE subtree_leases SET lease_until = '-infinity' WHERE root_path = $1 AND owner = $2 AND epoch = $3`,
    [lease.root, lease.owner, lease.epoch],
  );
  return rowCount === 1;
}

/**
 * The fencing check: run it first inside a write transaction of the owner. It locks the lease row FOR SHARE, so a
 * takeover (an UPDATE of that row) waits until the write commits or rolls back: a write either lands before the
 * next owner's epoch begins or not at all. Throws LeaseLostError (rolling the transaction back) when the epoch
 * moved on. Expiry alone does not fail it: a lease nobody has taken yet still has the owner's epoch.
 */
export async function fence(tx: Sql, lease: Pick<Lease, 'root' | 'owner' | 'epoch'>): Promise<void> {
  const { rowCount } = await tx.query(
    'SELECT 1 FROM subtree_leases WHERE root_path = $1 AND owner = $2 AND epoch = $3 FOR SHARE',
    [lease.root, lease.owner, lease.epoch],
  );
  if (rowCount !== 1) throw new LeaseLostError(lease.root, lease.epoch);
}

export interface LeaseRow { root: string; owner: string; epoch: number; untilMs: number }

/** Every lease, for `GET /cluster`; an expired or released one has `untilMs` in the past (-Infinity when released). */
export async function listLeases(sql: Sql): Promise<LeaseRow[]> {
  const { rows } = await sql.query<{ root_path: string; owner: string; epoch: string; until_ms: string | null }>(
    `SELECT root_path, owner, epoch, CASE WHEN isfinite(lease_until) THEN extract(epoch FROM lease_until) * 1000 END AS until_ms
       FROM subtree_leases ORDER BY root_path`,
  );
  return rows.map((r) => ({ root: r.root_path, owner: r.owner, epoch: Number(r.epoch), untilMs: r.until_ms === null ? -Infinity : Number(r.until_ms) }));
}

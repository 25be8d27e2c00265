import { ts } from './leases.js';
import type { Sql } from './pg/db.js';

/**
 * The daemons sharing one database, one row each in `daemons` (migration 1): where to reach them, when they last
 * spoke, whether they are draining and how loaded they are. Live means a heartbeat within one lease TTL.
 * Times are the caller's clock in ms, as in leases.ts.
 */
export interface DaemonInfo {
  id: string;
  /** The URL peers forward writes to (its advertised address). */
  address: string;
  startedAtMs: number;
  heartbeatAtMs: number;
  draining: boolean;
  /** Active agents it drives; placement puts new roots where this is least. */
  load: number;
}

/** Adds this daemon, or brings back a row of the same id (a restart with a fixed id) as fresh and not draining. */
export async function registerDaemon(sql: Sql, d: { id: string; address: string; load?: number }, nowMs: number): Promise<void> {
  await sql.query(
    `INSERT INTO daemons (id, address, started_at, heartbeat_at, draining, load) VALUES ($1, $2, $3, $3, false, $4)
     ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, started_at = EXCLUDED.started_at,
       heartbeat_at = EXCLUDED.heartbeat_at, draining = false, load = EXCLUDED.load`,
    [d.id, d.address, ts(nowMs), d.load ?? 0],
  );
}

/** Says this daemon is alive and how loaded it is. False when its row is gone (removed by an operator). */
export async function heartbeat(sql: Sql, id: string, nowMs: number, load: number): Promise<boolean> {
  const { rowCount } = await sql.query('UPDATE daemons SET heartbeat_at = $2, load = $3 WHERE id = $1', [id, ts(nowMs), load]);
  return rowCount === 1;
}

/**
 * A root was just placed here: counted now, not at the next heartbeat, so placements made in between spread to the
 * other daemons instead of all landing on the one that looked least loaded.
 */
export async function bumpLoad(sql: Sql, id: string): Promise<void> {
  await sql.query('UPDATE daemons SET load = load + 1 WHERE id = $1', [id]);
}

/** A draining daemon takes no new roots (SIGTERM: it is handing its subtrees over). */
export async function setDraining(sql: Sql, id: string): Promise<void> {
  await sql.query('UPDATE daemons SET draining = true WHERE id = $1', [id]);
}

/** The end of a clean shutdown: the daemon leaves the list at once instead of going stale. */
export async function removeDaemon(sql: Sql, id: string): Promise<void> {
  await sql.query('DELETE FROM daemons WHERE id = $1', [id]);
}

/**
 * Where a new root goes: the live, non-draining daemon with the least load (ties: fewest live leases, then id, so
 * the choice is stable). Null when no daemon is live. Two placements at the same instant may pick the same daemon;
 * loads are reported with each heartbeat, so the next ones spread again.
 */
export async function placeRoot(sql: Sql, nowMs: number, ttlMs: number): Promise<DaemonInfo | null> {
  const { rows } = await sql.query<DaemonRow>(
    `SELECT d.*, (SELECT count(*) FROM subtree_leases l WHERE l.owner = d.id AND l.lease_until > $1) AS leases
       FROM daemons d
      WHERE NOT d.draining AND d.heartbeat_at > $2
      ORDER BY d.load, leases, d.id
      LIMIT 1`,
    [ts(nowMs), ts(nowMs - ttlMs)],
  );
  return rows[0] ? toInfo(rows[0]) : null;
}

/** Every daemon, live or not, for `GET /cluster`. */
export async function listDaemons(sql: Sql): Promise<DaemonInfo[]> {
  const { rows } = await sql.query<DaemonRow>('SELECT * FROM daemons ORDER BY id');
  return rows.map(toInfo);
}

interface DaemonRow { id: string; address: string; started_at: Date; heartbeat_at: Date; draining: boolean; load: number }

const toInfo = (r: DaemonRow): DaemonInfo => ({
  id: r.id, address: r.address, startedAtMs: r.started_at.getTime(), heartbeatAtMs: r.heartbeat_at.getTime(), draining: r.draining, load: r.load,
});

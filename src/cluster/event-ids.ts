import type { Sql } from './pg/db.js';

/**
 * Event ids when several daemons share a database: each numbers its events from blocks of EVENT_ID_BLOCK ids taken
 * from one sequence (migration 4). Ids never collide, and a block taken when a daemon adopts a subtree is above every
 * id the subtree's previous owner handed out, so within one subtree ids keep rising across failovers (what
 * Last-Event-ID replay needs). Across subtrees owned by different daemons ids are unique but not in time order.
 */
export const EVENT_ID_BLOCK = 2 ** 20;

/** The first id of a fresh block, above every block handed out before. */
export async function takeEventIdBlock(sql: Sql): Promise<number> {
  const { rows } = await sql.query<{ start: string }>("SELECT nextval('event_id_blocks') AS start");
  return Number(rows[0]!.start);
}

import type { Checkpoint, ContextRef } from '../../domain/agent.js';
import type { Sql } from '../../cluster/pg/db.js';
import type { Approval } from '../../domain/approval.js';
import type { AgentEvent } from '../../events/types.js';
import type { HistoryPage, HistoryRow, StoredState } from '../store.js';
import {
  agentsWithInboxes, approvalsFromRows, EVENT_COLUMNS, EVENT_ID_HIGH_WATER, eventFromRow, EVENTS_PRUNED_THROUGH, hasWorkNow, type EventRow,
} from '../stored-rows.js';

// The PostgreSQL store's reads: start-up, contexts, history pages and event replay (src/store/sqlite-reads.ts's twin).

export async function readMeta(sql: Sql, key: string): Promise<number | undefined> {
  const { rows } = await sql.query<{ value: string }>('SELECT value FROM store_meta WHERE key = $1', [key]);
  return rows[0] ? Number(rows[0].value) : undefined;
}

export async function writeMeta(sql: Sql, key: string, value: number): Promise<void> {
  await sql.query('INSERT INTO store_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [key, value]);
}

/** A context's rows: its summary, then the ordinary turns from `fromSeq` up to `toSeq`. */
export async function readContext(sql: Sql, path: string, { summarySeq, fromSeq, toSeq }: ContextRef): Promise<HistoryRow[]> {
  const { rows } = await sql.query<HistoryRow>(
    `SELECT seq, kind, json FROM turns WHERE path = $1 AND (seq = $2 OR (kind = 'turn' AND seq >= $3 AND seq < $4))
      ORDER BY seq = $2 DESC, seq`,
    [path, summarySeq ?? -1, fromSeq, Math.min(toSeq, 2 ** 31 - 1)],
  );
  return rows;
}

export async function readHistory(sql: Sql, path: string, page: HistoryPage): Promise<HistoryRow[]> {
  const before = Math.min(page.beforeSeq ?? 2 ** 31 - 1, 2 ** 31 - 1);
  const { rows } = page.order === 'asc'
    ? await sql.query<HistoryRow>('SELECT seq, kind, json FROM turns WHERE path = $1 AND seq > $2 AND seq < $3 ORDER BY seq LIMIT $4',
      [path, page.after ?? -1, before, page.limit])
    : await sql.query<HistoryRow>('SELECT seq, kind, json FROM turns WHERE path = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3',
      [path, Math.min(page.after ?? before, before), page.limit]);
  return rows;
}

export async function readEventsSince(sql: Sql, path: string, scope: 'subtree' | 'self', afterId: number, limit: number): Promise<AgentEvent[]> {
  const { rows } = scope === 'self'
    ? await sql.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id > $1 AND path = $2 ORDER BY id LIMIT $3`, [afterId, path, limit])
    : await sql.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id > $1 AND (path = $2 OR (path >= $3 AND path < $4)) ORDER BY id LIMIT $5`,
      [afterId, path, `${path}/`, `${path}0`, limit]);
  return rows.map(eventFromRow);
}

export async function readRecentEvents(sql: Sql, path: string, limit: number): Promise<AgentEvent[]> {
  const { rows } = await sql.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE path = $1 ORDER BY id DESC LIMIT $2`, [path, limit]);
  return rows.reverse().map(eventFromRow);
}

/**
 * Keeps the latest `retained` events (inside the commit's transaction); returns the id it pruned through, or the
 * previous cut when there was nothing to prune. Counted in rows, not ids: ids from several daemons' blocks have gaps.
 */
export async function pruneEvents(sql: Sql, retained: number, prunedThrough: number): Promise<number> {
  const { rows } = await sql.query<{ id: string }>('SELECT id FROM events ORDER BY id DESC OFFSET $1 LIMIT 1', [retained]);
  const through = Number(rows[0]?.id ?? 0);
  if (through <= prunedThrough) return prunedThrough;
  await sql.query('DELETE FROM events WHERE id <= $1', [through]);
  await writeMeta(sql, EVENTS_PRUNED_THROUGH, through);
  return through;
}

/** Rows of the subtrees under `roots` (all rows when null). */
const IN_ROOTS = "($1::text[] IS NULL OR split_part(path, '/', 1) = ANY($1::text[]))";

/** The approvals of the subtrees under `roots`, oldest first. */
export async function readSubtreeApprovals(sql: Sql, roots: readonly string[]): Promise<Approval[]> {
  const { rows } = await sql.query<{ json: string }>(`SELECT json FROM approvals WHERE ${IN_ROOTS}`, [roots]);
  return approvalsFromRows(rows);
}

/**
 * Every agent (or those under `roots`) with its inbox and exactly its context (summary first), their checkpoints,
 * the recent events.
 */
export async function readState(sql: Sql, eventsLoadedAtStart: number, roots: readonly string[] | null = null): Promise<StoredState & { checkpoints: Checkpoint[] }> {
  const agents = agentsWithInboxes((await sql.query<{ json: string }>(`SELECT json FROM agents WHERE ${IN_ROOTS}`, [roots])).rows,
    (await sql.query<{ path: string; json: string }>(`SELECT path, json FROM inbox WHERE ${IN_ROOTS} ORDER BY path, seq`, [roots])).rows);
  // Only the agents with work to do now get their context (one query for all of them); the others read theirs when
  // first woken.
  const working = agents.filter(hasWorkNow);
  if (working.length > 0) {
    const byPath = new Map(working.map((a) => [a.path, a]));
    const { rows } = await sql.query<HistoryRow & { path: string }>(
      `SELECT t.path, t.seq, t.kind, t.json
         FROM unnest($1::text[], $2::int[], $3::int[]) AS c(path, summary_seq, from_seq)
         JOIN turns t ON t.path = c.path AND (t.seq = c.summary_seq OR (t.kind = 'turn' AND t.seq >= c.from_seq))
        ORDER BY t.path, COALESCE(t.seq = c.summary_seq, false) DESC, t.seq`,
      [working.map((a) => a.path), working.map((a) => a.contextSummarySeq), working.map((a) => a.contextFromSeq)],
    );
    for (const row of rows) {
      const agent = byPath.get(row.path)!;
      agent.conversation.push(row.json, row.kind === 'summary');
      agent.contextSeqs.push(row.seq);
    }
    for (const agent of working) agent.contextLoaded = true;
  }
  const checkpoints = (await sql.query<{ json: string }>(`SELECT json FROM checkpoints WHERE ${IN_ROOTS} ORDER BY position`, [roots])).rows
    .map((r) => JSON.parse(r.json) as Checkpoint);
  const events = (await sql.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events ORDER BY id DESC LIMIT $1`, [eventsLoadedAtStart])).rows.reverse().map(eventFromRow);
  const { rows: [max] } = await sql.query<{ last: string | null }>('SELECT MAX(id) AS last FROM events');
  const lastEventId = Math.max(Number(max?.last ?? 0), (await readMeta(sql, EVENT_ID_HIGH_WATER)) ?? 0);
  const prunedThrough = (await readMeta(sql, EVENTS_PRUNED_THROUGH)) ?? 0;
  return { agents, events, lastEventId, firstRetainedEventId: prunedThrough + 1, checkpoints };
}

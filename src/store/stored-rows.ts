import type { AgentRecord, Checkpoint, InboxItem } from '../domain/agent.js';
import type { Approval } from '../domain/approval.js';
import type { AgentEvent } from '../events/types.js';
import { decodeAgent } from './record-codec.js';
import type { HistoryRow } from './store.js';

/** From rows to what the runtime holds, the same for SQLite (src/store/sqlite-reads.ts) and PostgreSQL (src/store/pg/pg-reads.ts). */

/** Meta keys: the event-id high-water mark (EVENT_ID_BLOCK) and where pruning cut the events table. */
export const EVENT_ID_HIGH_WATER = 'event_id_high_water';
export const EVENTS_PRUNED_THROUGH = 'events_pruned_through';

/** Agents from their rows, parents first, each with its inbox (rows in path, seq order). */
export function agentsWithInboxes(agentRows: ReadonlyArray<{ json: string }>, inboxRows: ReadonlyArray<{ path: string; json: string }>): AgentRecord[] {
  const agents = agentRows.map((r) => decodeAgent(r.json));
  agents.sort((a, b) => a.depth - b.depth);
  const byPath = new Map(agents.map((a) => [a.path, a]));
  for (const row of inboxRows) byPath.get(row.path)?.inbox.push(JSON.parse(row.json) as InboxItem);
  return agents;
}

/** Start-up loads the context only of the agents with work to do now; the others read theirs when first woken. */
export function hasWorkNow(agent: AgentRecord): boolean {
  return agent.state === 'running' || agent.state === 'correcting' || agent.state === 'spawning' || (agent.state === 'idle' && agent.inbox.length > 0);
}

/** A checkpoint written before contexts were references: its turns are inline, numbered from 0. */
export function inlineContext(checkpoint: Checkpoint): HistoryRow[] {
  return (checkpoint.conversation ?? []).map((json, seq) => ({ seq, kind: 'turn' as const, json }));
}

/** Approvals from their rows, oldest first. */
export function approvalsFromRows(rows: ReadonlyArray<{ json: string }>): Approval[] {
  return rows.map((r) => JSON.parse(r.json) as Approval).sort((a, b) => a.createdAtMs - b.createdAtMs);
}

/** An events row (PostgreSQL returns a bigint id as text). */
export interface EventRow { id: number | string; path: string; type: string; ts: string; json: string }
export const EVENT_COLUMNS = 'id, path, type, ts, json';

export function eventFromRow(row: EventRow): AgentEvent {
  return { id: Number(row.id), path: row.path, type: row.type, timestamp: row.ts, data: JSON.parse(row.json) as Record<string, unknown> };
}

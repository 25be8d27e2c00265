import type { AgentRecord, Checkpoint, HistoryKind, InboxItem, TurnJson } from '../../domain/agent.js';
import type { Approval } from '../../domain/approval.js';
import type { AgentEvent } from '../../events/types.js';
import type { StoreOp } from '../store-op.js';
import { encodeAgent } from '../record-codec.js';

export type Op = StoreOp;

export interface Statement {
  text: string;
  values: unknown[];
}

/**
 * Turns a batch of operations into a few multi-row statements (arrays passed to `unnest`), with the effect of
 * applying them one by one: the batch is cut at each deletion (rare), and within a part the last write of a key
 * wins, updates of rows already on disk run before the inserts, and inbox deletions before inbox inserts (an item
 * taken in the same part is dropped from the inserts). Every statement is idempotent (upserts, events
 * `ON CONFLICT DO NOTHING`), so a batch whose COMMIT reached the server but whose answer was lost can be retried.
 * Agents are encoded now, as they are at commit time.
 */
export function planBatch(ops: readonly Op[]): Statement[] {
  const statements: Statement[] = [];
  let part = new Part();
  const events: AgentEvent[] = [];
  for (const op of ops) {
    if (op.kind === 'event') events.push(op.event);
    else if (op.kind === 'delete') {
      statements.push(...part.statements(), deleteAgent(op.path));
      part = new Part();
    } else part.add(op);
  }
  statements.push(...part.statements());
  if (events.length > 0) statements.push(insertEvents(events));
  return statements;
}

const key = (path: string, n: number | string) => `${path}\u0000${n}`;

class Part {
  private readonly agents = new Map<string, AgentRecord>();
  private readonly turns = new Map<string, { path: string; seq: number; kind: HistoryKind; json: TurnJson }>();
  private readonly turnUpdates = new Map<string, { path: string; seq: number; json: TurnJson }>();
  private readonly inbox = new Map<string, { path: string; seq: number; item: InboxItem }>();
  private readonly takes = new Map<string, number>();
  private readonly checkpoints = new Map<string, Checkpoint>();
  private readonly approvals = new Map<string, Approval>();

  add(op: Exclude<Op, { kind: 'event' | 'delete' }>): void {
    switch (op.kind) {
      case 'agent':
        this.agents.set(op.agent.path, op.agent);
        return;
      case 'turn':
        this.turns.set(key(op.path, op.seq), { path: op.path, seq: op.seq, kind: op.rowKind, json: op.json });
        return;
      case 'replaceTurn': {
        const queued = this.turns.get(key(op.path, op.seq));
        if (queued) queued.json = op.json;
        else this.turnUpdates.set(key(op.path, op.seq), { path: op.path, seq: op.seq, json: op.json });
        return;
      }
      case 'inbox':
        this.inbox.set(key(op.path, op.seq), { path: op.path, seq: op.seq, item: op.item });
        return;
      case 'takeInbox':
        for (const [k, item] of this.inbox) if (item.path === op.path && item.seq < op.beforeSeq) this.inbox.delete(k);
        this.takes.set(op.path, Math.max(this.takes.get(op.path) ?? 0, op.beforeSeq));
        return;
      case 'checkpoint':
        this.checkpoints.set(key(op.checkpoint.path, op.checkpoint.id), op.checkpoint);
        return;
      case 'approval':
        this.approvals.set(op.approval.id, op.approval);
    }
  }

  statements(): Statement[] {
    const out: Statement[] = [];
    if (this.agents.size > 0) {
      const agents = [...this.agents.values()];
      out.push({
        text: `INSERT INTO agents (path, json, context_from, summary_seq)
               SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[])
               ON CONFLICT (path) DO UPDATE SET json = EXCLUDED.json, context_from = EXCLUDED.context_from, summary_seq = EXCLUDED.summary_seq`,
        values: [agents.map((a) => a.path), agents.map(encodeAgent), agents.map((a) => a.contextFromSeq), agents.map((a) => a.contextSummarySeq)],
      });
    }
    if (this.turnUpdates.size > 0) {
      const rows = [...this.turnUpdates.values()];
      out.push({
        text: `UPDATE turns SET json = u.json FROM unnest($1::text[], $2::int[], $3::text[]) AS u(path, seq, json)
               WHERE turns.path = u.path AND turns.seq = u.seq`,
        values: [rows.map((r) => r.path), rows.map((r) => r.seq), rows.map((r) => r.json)],
      });
    }
    if (this.turns.size > 0) {
      const rows = [...this.turns.values()];
      out.push({
        text: `INSERT INTO turns (path, seq, kind, json) SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[])
               ON CONFLICT (path, seq) DO UPDATE SET kind = EXCLUDED.kind, json = EXCLUDED.json`,
        values: [rows.map((r) => r.path), rows.map((r) => r.seq), rows.map((r) => r.kind), rows.map((r) => r.json)],
      });
    }
    if (this.takes.size > 0) {
      out.push({
        text: `DELETE FROM inbox USING unnest($1::text[], $2::int[]) AS t(path, before)
               WHERE inbox.path = t.path AND inbox.seq < t.before`,
        values: [[...this.takes.keys()], [...this.takes.values()]],
      });
    }
    if (this.inbox.size > 0) {
      const rows = [...this.inbox.values()];
      out.push({
        text: `INSERT INTO inbox (path, seq, json) SELECT * FROM unnest($1::text[], $2::int[], $3::text[])
               ON CONFLICT (path, seq) DO UPDATE SET json = EXCLUDED.json`,
        values: [rows.map((r) => r.path), rows.map((r) => r.seq), rows.map((r) => JSON.stringify(r.item))],
      });
    }
    if (this.checkpoints.size > 0) {
      const rows = [...this.checkpoints.values()].map(({ conversation: _legacy, ...checkpoint }) => checkpoint);
      out.push({
        text: `INSERT INTO checkpoints (path, id, ts, json) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
               ON CONFLICT (path, id) DO UPDATE SET ts = EXCLUDED.ts, json = EXCLUDED.json, position = EXCLUDED.position`,
        values: [rows.map((c) => c.path), rows.map((c) => c.id), rows.map((c) => c.timestamp), rows.map((c) => JSON.stringify(c))],
      });
    }
    if (this.approvals.size > 0) {
      const rows = [...this.approvals.values()];
      out.push({
        text: `INSERT INTO approvals (id, path, state, json) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
               ON CONFLICT (id) DO UPDATE SET path = EXCLUDED.path, state = EXCLUDED.state, json = EXCLUDED.json`,
        values: [rows.map((a) => a.id), rows.map((a) => a.path), rows.map((a) => a.state), rows.map((a) => JSON.stringify(a))],
      });
    }
    return out;
  }
}

function deleteAgent(path: string): Statement {
  return {
    text: `WITH a AS (DELETE FROM agents WHERE path = $1), t AS (DELETE FROM turns WHERE path = $1),
                i AS (DELETE FROM inbox WHERE path = $1), p AS (DELETE FROM approvals WHERE path = $1)
           DELETE FROM checkpoints WHERE path = $1`,
    values: [path],
  };
}

function insertEvents(events: readonly AgentEvent[]): Statement {
  return {
    text: `INSERT INTO events (id, path, type, ts, json) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[])
           ON CONFLICT (id) DO NOTHING`,
    values: [events.map((e) => e.id), events.map((e) => e.path), events.map((e) => e.type), events.map((e) => e.timestamp), events.map((e) => JSON.stringify(e.data))],
  };
}

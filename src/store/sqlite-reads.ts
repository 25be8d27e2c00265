import type Database from 'better-sqlite3';
import { turnJson, type Checkpoint, type ContextRef, type ConversationTurn, type TurnJson } from '../domain/agent.js';
import type { AgentEvent } from '../events/types.js';
import type { HistoryPage, HistoryRow, StoredState, StoreOptions } from './store.js';
import {
  agentsWithInboxes, EVENT_COLUMNS, EVENT_ID_HIGH_WATER, eventFromRow, EVENTS_PRUNED_THROUGH, hasWorkNow, inlineContext, type EventRow,
} from './stored-rows.js';

/** The SQLite store's reads: start-up, contexts, history pages and event replay. */
export class SqliteReads {
  /** Events with ids up to here may have been pruned: a replay from before it is `gone`. */
  private prunedThroughEventId: number;

  constructor(private readonly db: Database.Database, private readonly options: StoreOptions, private readonly queuedEvents: (path: string) => AgentEvent[]) {
    this.prunedThroughEventId = this.meta(EVENTS_PRUNED_THROUGH) ?? 0;
  }

  private meta(key: string): number | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: number } | undefined)?.value;
  }

  checkpointContext(checkpoint: Checkpoint): HistoryRow[] {
    if (!checkpoint.context) return inlineContext(checkpoint);
    return this.context(checkpoint.path, checkpoint.context);
  }

  /** A context's rows: its summary, then the ordinary turns from `fromSeq` up to `toSeq`. */
  context(path: string, { summarySeq, fromSeq, toSeq }: ContextRef): HistoryRow[] {
    const rows: HistoryRow[] = [];
    if (summarySeq !== null) {
      const summary = this.db.prepare('SELECT seq, kind, json FROM turns WHERE path = ? AND seq = ?').get(path, summarySeq) as HistoryRow | undefined;
      if (summary) rows.push(summary);
    }
    rows.push(...this.db.prepare("SELECT seq, kind, json FROM turns WHERE path = ? AND kind = 'turn' AND seq >= ? AND seq < ? ORDER BY seq")
      .all(path, fromSeq, toSeq) as HistoryRow[]);
    return rows;
  }

  history(path: string, page: HistoryPage): HistoryRow[] {
    const before = page.beforeSeq ?? Number.MAX_SAFE_INTEGER;
    if (page.order === 'asc') {
      return this.db.prepare('SELECT seq, kind, json FROM turns WHERE path = ? AND seq > ? AND seq < ? ORDER BY seq LIMIT ?')
        .all(path, page.after ?? -1, before, page.limit) as HistoryRow[];
    }
    return this.db.prepare('SELECT seq, kind, json FROM turns WHERE path = ? AND seq < ? ORDER BY seq DESC LIMIT ?')
      .all(path, Math.min(page.after ?? before, before), page.limit) as HistoryRow[];
  }

  eventsSince(path: string, scope: 'subtree' | 'self', afterId: number, limit: number): AgentEvent[] | 'gone' {
    if (afterId < this.prunedThroughEventId) return 'gone';
    const rows = scope === 'self'
      ? this.db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE id > ? AND path = ? ORDER BY id LIMIT ?`).all(afterId, path, limit)
      : this.db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE id > ? AND (path = ? OR (path >= ? AND path < ?)) ORDER BY id LIMIT ?`)
        .all(afterId, path, `${path}/`, `${path}0`, limit);
    return (rows as EventRow[]).map(eventFromRow);
  }

  recentEvents(path: string, limit: number): AgentEvent[] {
    const rows = this.db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE path = ? ORDER BY id DESC LIMIT ?`).all(path, limit) as EventRow[];
    const events = rows.reverse().map(eventFromRow);
    events.push(...this.queuedEvents(path));
    return events.length > limit ? events.slice(-limit) : events;
  }

  /** Keeps the latest `eventsRetained` ids; remembers where it cut, so a replay from before it is answered `gone`. */
  prune(): void {
    const { last } = this.db.prepare('SELECT MAX(id) AS last FROM events').get() as { last: number | null };
    const through = (last ?? 0) - this.options.eventsRetained;
    if (through <= this.prunedThroughEventId) return;
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM events WHERE id <= ?').run(through);
      this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(EVENTS_PRUNED_THROUGH, through);
    })();
    this.prunedThroughEventId = through;
  }

  /** Every agent with its inbox and exactly its context (summary first), the checkpoints, recent events. */
  load(): StoredState & { checkpoints: Checkpoint[] } {
    const agents = agentsWithInboxes(this.db.prepare('SELECT json FROM agents').all() as Array<{ json: string }>,
      this.db.prepare('SELECT path, json FROM inbox ORDER BY path, seq').all() as Array<{ path: string; json: string }>);
    // Only the agents with work to do now get their context; the others read theirs when first woken.
    for (const agent of agents) {
      if (!hasWorkNow(agent)) continue;
      for (const row of this.context(agent.path, { summarySeq: agent.contextSummarySeq, fromSeq: agent.contextFromSeq, toSeq: Number.MAX_SAFE_INTEGER })) {
        agent.conversation.push(row.json, row.kind === 'summary');
        agent.contextSeqs.push(row.seq);
      }
      agent.contextLoaded = true;
    }
    const checkpoints = (this.db.prepare('SELECT json FROM checkpoints ORDER BY rowid').all() as Array<{ json: string }>).map((row) => {
      const checkpoint = JSON.parse(row.json) as Checkpoint;
      // Written before turns were kept as text, a legacy checkpoint's inline turns are objects: bring them to text.
      if (checkpoint.conversation) {
        checkpoint.conversation = (checkpoint.conversation as Array<TurnJson | ConversationTurn>).map((t) => typeof t === 'string' ? t : turnJson(t));
      }
      return checkpoint;
    });
    const events = (this.db.prepare(`SELECT * FROM (SELECT ${EVENT_COLUMNS} FROM events ORDER BY id DESC LIMIT ?) ORDER BY id`)
      .all(this.options.eventsLoadedAtStart) as EventRow[]).map(eventFromRow);
    const { last } = this.db.prepare('SELECT MAX(id) AS last FROM events').get() as { last: number | null };
    const lastEventId = Math.max(last ?? 0, this.meta(EVENT_ID_HIGH_WATER) ?? 0);
    return { agents, events, lastEventId, firstRetainedEventId: this.prunedThroughEventId + 1, checkpoints };
  }
}

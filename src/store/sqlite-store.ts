import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { turnJson, type TurnJson, type AgentRecord, type Checkpoint, type ConversationTurn } from '../domain/agent.js';
import type { AgentEvent } from '../events/types.js';
import { decodeAgent, encodeAgent } from './record-codec.js';
import { SCHEMA_SQL } from './schema.js';
import type { Store, StoredState } from './store.js';

export interface SqliteStoreOptions {
  /** Events kept in the database; older ones are pruned (never a checkpoint: those are stored whole). */
  eventsRetained: number;
  /** Events loaded into memory at start for replay. */
  eventsLoadedAtStart: number;
  /** Conversation turns per agent loaded into memory at start (older ones stay on disk). */
  turnsLoadedAtStart: number;
}

/**
 * Event ids are handed to SSE clients as soon as they are published, before the group commit makes the events
 * durable. So that a killed daemon never hands out an id twice, the store records a high-water mark ahead of the
 * ids in use (one synchronous write per block) and numbering resumes past it after an unclean stop.
 */
export const EVENT_ID_BLOCK = 1_000;
/** Events appended between two prunes of the events table. */
export const EVENTS_BETWEEN_PRUNES = 10_000;

type Op =
  | { kind: 'agent'; agent: AgentRecord }
  | { kind: 'delete'; path: string }
  | { kind: 'event'; event: AgentEvent }
  | { kind: 'checkpoint'; checkpoint: Checkpoint };

/**
 * SQLite in WAL mode. Writes are queued and committed together once per event-loop turn (group commit): every
 * request handled in that turn is durable after one transaction, and `flush()` resolves then. synchronous=NORMAL
 * in WAL survives a killed process; set AUTON_DB_SYNC=full to survive power loss too.
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private queue: Op[] = [];
  private readonly pendingAgents = new Set<string>();
  private waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;
  private healthy = true;
  /**
   * What of each agent's conversation is on disk: its epoch, how many of the in-memory turns are written, and
   * `base`, the seq of the first in-memory turn (older turns stay on disk when only the latest are loaded).
   */
  private readonly persistedTurns = new Map<string, { epoch: number; count: number; base: number }>();
  private readonly checkpointIndex = new Map<string, Checkpoint[]>();
  private eventsSincePrune = 0;
  /** Events with ids up to here may have been pruned: a replay from before it is `gone`. */
  private prunedThroughEventId: number;
  /** Event ids up to here may have been seen by clients (persisted in meta before they are published). */
  private eventIdHighWater = 0;
  private lastAppendedEventId = 0;
  private readonly stmt;

  constructor(file: string, private readonly options: SqliteStoreOptions, sync: 'normal' | 'full' = 'normal') {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.exec(SCHEMA_SQL);
    this.stmt = {
      upsertAgent: this.db.prepare('INSERT INTO agents (path, json) VALUES (?, ?) ON CONFLICT(path) DO UPDATE SET json = excluded.json'),
      deleteAgent: this.db.prepare('DELETE FROM agents WHERE path = ?'),
      deleteTurns: this.db.prepare('DELETE FROM turns WHERE path = ?'),
      deleteCheckpoints: this.db.prepare('DELETE FROM checkpoints WHERE path = ?'),
      insertTurn: this.db.prepare('INSERT OR REPLACE INTO turns (path, seq, json) VALUES (?, ?, ?)'),
      insertEvent: this.db.prepare('INSERT INTO events (id, path, type, ts, json) VALUES (?, ?, ?, ?, ?)'),
      insertCheckpoint: this.db.prepare('INSERT OR REPLACE INTO checkpoints (path, id, ts, json) VALUES (?, ?, ?, ?)'),
      pruneEvents: this.db.prepare('DELETE FROM events WHERE id <= ?'),
      setMeta: this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
    };
    const pruned = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(EVENTS_PRUNED_THROUGH) as { value: number } | undefined;
    this.prunedThroughEventId = pruned?.value ?? 0;
  }

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

  /** Called as each event is published, before any client sees it. */
  appendEvent(event: AgentEvent): void {
    if (event.id > this.eventIdHighWater && this.db.open) {
      this.eventIdHighWater = event.id + EVENT_ID_BLOCK;
      this.stmt.setMeta.run(EVENT_ID_HIGH_WATER, this.eventIdHighWater);
    }
    this.lastAppendedEventId = Math.max(this.lastAppendedEventId, event.id);
    this.push({ kind: 'event', event });
  }

  saveCheckpoint(checkpoint: Checkpoint): void {
    const list = this.checkpointIndex.get(checkpoint.path) ?? [];
    list.push(checkpoint);
    this.checkpointIndex.set(checkpoint.path, list);
    this.push({ kind: 'checkpoint', checkpoint });
  }

  listCheckpoints(path: string): Checkpoint[] {
    return this.checkpointIndex.get(path) ?? [];
  }

  loadCheckpoint(path: string, id: string): Checkpoint | undefined {
    return this.listCheckpoints(path).find((c) => c.id === id);
  }

  eventsSince(path: string, scope: 'subtree' | 'self', afterId: number, limit: number): AgentEvent[] | 'gone' {
    if (afterId < this.prunedThroughEventId) return 'gone';
    const sql = scope === 'self'
      ? 'SELECT id, path, type, ts, json FROM events WHERE id > ? AND path = ? ORDER BY id LIMIT ?'
      : "SELECT id, path, type, ts, json FROM events WHERE id > ? AND (path = ? OR (path >= ? AND path < ?)) ORDER BY id LIMIT ?";
    const rows = scope === 'self'
      ? this.db.prepare(sql).all(afterId, path, limit)
      : this.db.prepare(sql).all(afterId, path, `${path}/`, `${path}0`, limit);
    return (rows as EventRow[]).map(eventFromRow);
  }

  recentEvents(path: string, limit: number): AgentEvent[] {
    const rows = this.db.prepare('SELECT id, path, type, ts, json FROM events WHERE path = ? ORDER BY id DESC LIMIT ?').all(path, limit) as EventRow[];
    const events = rows.reverse().map(eventFromRow);
    for (const op of this.queue) if (op.kind === 'event' && op.event.path === path) events.push(op.event);
    return events.length > limit ? events.slice(-limit) : events;
  }

  flush(): Promise<void> {
    if (this.queue.length === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  isHealthy(): boolean {
    return this.healthy && this.db.open;
  }

  private push(op: Op): void {
    this.queue.push(op);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.commit());
    }
  }

  /** Writes everything queued in one transaction, then answers every waiter. */
  commit(): void {
    this.scheduled = false;
    const ops = this.queue;
    const waiters = this.waiters;
    this.queue = [];
    this.waiters = [];
    this.pendingAgents.clear();
    try {
      if (ops.length > 0 && this.db.open) this.db.transaction(() => ops.forEach((op) => this.apply(op)))();
      if (this.eventsSincePrune > EVENTS_BETWEEN_PRUNES) {
        this.eventsSincePrune = 0;
        this.prune();
      }
      this.healthy = true;
      for (const w of waiters) w.resolve();
    } catch (error) {
      this.healthy = false;
      for (const w of waiters) w.reject(error);
    }
  }

  private apply(op: Op): void {
    switch (op.kind) {
      case 'agent':
        this.stmt.upsertAgent.run(op.agent.path, encodeAgent(op.agent));
        this.writeTurns(op.agent);
        return;
      case 'delete':
        this.stmt.deleteAgent.run(op.path);
        this.stmt.deleteTurns.run(op.path);
        this.stmt.deleteCheckpoints.run(op.path);
        this.persistedTurns.delete(op.path);
        return;
      case 'event':
        this.eventsSincePrune++;
        this.stmt.insertEvent.run(op.event.id, op.event.path, op.event.type, op.event.timestamp, JSON.stringify(op.event.data));
        return;
      case 'checkpoint':
        this.stmt.insertCheckpoint.run(op.checkpoint.path, op.checkpoint.id, op.checkpoint.timestamp, JSON.stringify(op.checkpoint));
    }
  }

  /** Keeps the latest `eventsRetained` ids; remembers where it cut, so a replay from before it is answered `gone`. */
  private prune(): void {
    const { last } = this.db.prepare('SELECT MAX(id) AS last FROM events').get() as { last: number | null };
    const through = (last ?? 0) - this.options.eventsRetained;
    if (through <= this.prunedThroughEventId) return;
    this.db.transaction(() => {
      this.stmt.pruneEvents.run(through);
      this.stmt.setMeta.run(EVENTS_PRUNED_THROUGH, through);
    })();
    this.prunedThroughEventId = through;
  }

  /** Appends new turns after those on disk; rewrites the conversation when it was replaced (a new epoch). */
  private writeTurns(agent: AgentRecord): void {
    const known = this.persistedTurns.get(agent.path);
    const turns = agent.conversation;
    let start = 0;
    let base = 0;
    if (!known || known.epoch !== agent.conversationEpoch) this.stmt.deleteTurns.run(agent.path);
    else ({ count: start, base } = known);
    for (let i = start; i < turns.length; i++) this.stmt.insertTurn.run(agent.path, base + i, turns[i]);
    this.persistedTurns.set(agent.path, { epoch: agent.conversationEpoch, count: turns.length, base });
  }

  load(): StoredState {
    const agents = (this.db.prepare('SELECT json FROM agents').all() as Array<{ json: string }>).map((r) => decodeAgent(r.json));
    agents.sort((a, b) => a.depth - b.depth);
    const byPath = new Map(agents.map((a) => [a.path, a]));
    const turnRows = this.db.prepare(
      'SELECT path, seq, json FROM (SELECT path, seq, json, ROW_NUMBER() OVER (PARTITION BY path ORDER BY seq DESC) AS n FROM turns) WHERE n <= ? ORDER BY path, seq',
    ).all(this.options.turnsLoadedAtStart) as Array<{ path: string; seq: number; json: string }>;
    for (const row of turnRows) byPath.get(row.path)?.conversation.push(row.json);
    const stored = new Map((this.db.prepare('SELECT path, MAX(seq) + 1 AS total FROM turns GROUP BY path').all() as Array<{ path: string; total: number }>)
      .map((r) => [r.path, r.total]));
    for (const agent of agents) {
      const count = agent.conversation.length;
      this.persistedTurns.set(agent.path, { epoch: agent.conversationEpoch, count, base: (stored.get(agent.path) ?? count) - count });
    }
    for (const row of this.db.prepare('SELECT json FROM checkpoints ORDER BY rowid').all() as Array<{ json: string }>) {
      const checkpoint = JSON.parse(row.json) as Checkpoint;
      // Written before turns were kept as text, a checkpoint's turns are objects: bring them to today's form.
      checkpoint.conversation = (checkpoint.conversation as Array<TurnJson | ConversationTurn>).map((t) => typeof t === 'string' ? t : turnJson(t));
      const list = this.checkpointIndex.get(checkpoint.path) ?? [];
      list.push(checkpoint);
      this.checkpointIndex.set(checkpoint.path, list);
    }
    const events = (this.db.prepare('SELECT * FROM (SELECT id, path, type, ts, json FROM events ORDER BY id DESC LIMIT ?) ORDER BY id')
      .all(this.options.eventsLoadedAtStart) as EventRow[]).map(eventFromRow);
    const { last } = this.db.prepare('SELECT MAX(id) AS last FROM events').get() as { last: number | null };
    const highWater = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(EVENT_ID_HIGH_WATER) as { value: number } | undefined;
    const lastEventId = Math.max(last ?? 0, highWater?.value ?? 0);
    this.eventIdHighWater = lastEventId;
    return { agents, checkpoints: [], events, lastEventId, firstRetainedEventId: this.prunedThroughEventId + 1 };
  }

  /** Commits what is queued; after a clean close numbering resumes right after the last event, without a gap. */
  close(): void {
    if (!this.db.open) return;
    this.commit();
    if (this.lastAppendedEventId > 0) this.stmt.setMeta.run(EVENT_ID_HIGH_WATER, this.lastAppendedEventId);
    this.db.close();
  }
}

const EVENT_ID_HIGH_WATER = 'event_id_high_water';
const EVENTS_PRUNED_THROUGH = 'events_pruned_through';

interface EventRow { id: number; path: string; type: string; ts: string; json: string }

function eventFromRow(row: EventRow): AgentEvent {
  return { id: row.id, path: row.path, type: row.type, timestamp: row.ts, data: JSON.parse(row.json) as Record<string, unknown> };
}

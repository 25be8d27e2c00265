import type Database from 'better-sqlite3';
import { encodeAgent } from './record-codec.js';
import type { StoreOp } from './store-op.js';

/**
 * The SQLite store's statements, prepared once, and how each queued write becomes them: applied one by one, in the
 * order they were made, inside the group commit's transaction (src/store/sqlite-store.ts; PostgreSQL's twin is
 * src/store/pg/batch.ts).
 */
export class SqliteWrites {
  private readonly stmt;

  constructor(db: Database.Database) {
    this.stmt = {
      upsertAgent: db.prepare('INSERT INTO agents (path, json, context_from, summary_seq) VALUES (?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET json = excluded.json, context_from = excluded.context_from, summary_seq = excluded.summary_seq'),
      deleteAgent: db.prepare('DELETE FROM agents WHERE path = ?'),
      deleteTurns: db.prepare('DELETE FROM turns WHERE path = ?'),
      deleteInbox: db.prepare('DELETE FROM inbox WHERE path = ?'),
      deleteCheckpoints: db.prepare('DELETE FROM checkpoints WHERE path = ?'),
      deleteApprovals: db.prepare('DELETE FROM approvals WHERE path = ?'),
      upsertApproval: db.prepare('INSERT OR REPLACE INTO approvals (id, path, state, json) VALUES (?, ?, ?, ?)'),
      insertTurn: db.prepare('INSERT OR REPLACE INTO turns (path, seq, kind, json) VALUES (?, ?, ?, ?)'),
      replaceTurn: db.prepare('UPDATE turns SET json = ? WHERE path = ? AND seq = ?'),
      insertInbox: db.prepare('INSERT OR REPLACE INTO inbox (path, seq, json) VALUES (?, ?, ?)'),
      takeInbox: db.prepare('DELETE FROM inbox WHERE path = ? AND seq < ?'),
      insertEvent: db.prepare('INSERT INTO events (id, path, type, ts, json) VALUES (?, ?, ?, ?, ?)'),
      insertCheckpoint: db.prepare('INSERT OR REPLACE INTO checkpoints (path, id, ts, json) VALUES (?, ?, ?, ?)'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
    };
  }

  setMeta(key: string, value: number): void {
    this.stmt.setMeta.run(key, value);
  }

  apply(op: StoreOp): void {
    switch (op.kind) {
      case 'agent': {
        const a = op.agent;
        this.stmt.upsertAgent.run(a.path, encodeAgent(a), a.contextFromSeq, a.contextSummarySeq);
        return;
      }
      case 'delete':
        this.stmt.deleteAgent.run(op.path);
        this.stmt.deleteTurns.run(op.path);
        this.stmt.deleteInbox.run(op.path);
        this.stmt.deleteCheckpoints.run(op.path);
        this.stmt.deleteApprovals.run(op.path);
        return;
      case 'approval':
        this.stmt.upsertApproval.run(op.approval.id, op.approval.path, op.approval.state, JSON.stringify(op.approval));
        return;
      case 'event':
        this.stmt.insertEvent.run(op.event.id, op.event.path, op.event.type, op.event.timestamp, JSON.stringify(op.event.data));
        return;
      case 'checkpoint': {
        const { conversation: _legacy, ...checkpoint } = op.checkpoint;
        this.stmt.insertCheckpoint.run(checkpoint.path, checkpoint.id, checkpoint.timestamp, JSON.stringify(checkpoint));
        return;
      }
      case 'turn':
        this.stmt.insertTurn.run(op.path, op.seq, op.rowKind, op.json);
        return;
      case 'replaceTurn':
        this.stmt.replaceTurn.run(op.json, op.path, op.seq);
        return;
      case 'inbox':
        this.stmt.insertInbox.run(op.path, op.seq, JSON.stringify(op.item));
        return;
      case 'takeInbox':
        this.stmt.takeInbox.run(op.path, op.beforeSeq);
    }
  }
}

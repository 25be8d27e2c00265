import type Database from 'better-sqlite3';

/**
 * The SQLite schema. An agent's row holds only its small fields (and, as columns, where its context starts);
 * history turns, inbox items and events are rows of their own, so a write costs what changed.
 */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS agents (path TEXT PRIMARY KEY, json TEXT NOT NULL, context_from INTEGER NOT NULL DEFAULT 0, summary_seq INTEGER);
CREATE TABLE IF NOT EXISTS turns (path TEXT NOT NULL, seq INTEGER NOT NULL, json TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'turn', PRIMARY KEY (path, seq));
CREATE TABLE IF NOT EXISTS inbox (path TEXT NOT NULL, seq INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (path, seq));
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, path TEXT NOT NULL, type TEXT NOT NULL, ts TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_path ON events (path, id);
CREATE TABLE IF NOT EXISTS checkpoints (path TEXT NOT NULL, id TEXT NOT NULL, ts TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (path, id));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS approvals (id TEXT PRIMARY KEY, path TEXT NOT NULL, state TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS approvals_by_path ON approvals (path);
`;

export const SCHEMA_VERSION = 2;
/** How many of a legacy agent's latest turns become its context (what the previous version loaded at start). */
export const LEGACY_CONTEXT_TURNS = 200;

/**
 * Creates the schema, or upgrades a database of the previous version once, in one transaction: each agent's
 * inbox moves out of its JSON into rows, turns gain their kind, and the context starts at the latest turns.
 */
export function openSchema(db: Database.Database): void {
  const columns = (table: string) => (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name);
  const hadAgents = columns('agents').length > 0;
  db.transaction(() => {
    if (hadAgents && !columns('agents').includes('context_from')) {
      db.exec('ALTER TABLE agents ADD COLUMN context_from INTEGER NOT NULL DEFAULT 0; ALTER TABLE agents ADD COLUMN summary_seq INTEGER;');
    }
    if (columns('turns').length > 0 && !columns('turns').includes('kind')) db.exec("ALTER TABLE turns ADD COLUMN kind TEXT NOT NULL DEFAULT 'turn'");
    db.exec(SCHEMA_SQL);
    const version = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: number } | undefined;
    if (!version && hadAgents) migrateAgents(db);
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(SCHEMA_VERSION);
  })();
}

function migrateAgents(db: Database.Database): void {
  const lengths = new Map((db.prepare('SELECT path, MAX(seq) + 1 AS n FROM turns GROUP BY path').all() as Array<{ path: string; n: number }>).map((r) => [r.path, r.n]));
  const insertInbox = db.prepare('INSERT OR REPLACE INTO inbox (path, seq, json) VALUES (?, ?, ?)');
  const update = db.prepare('UPDATE agents SET json = ?, context_from = ?, summary_seq = NULL WHERE path = ?');
  for (const row of db.prepare('SELECT path, json FROM agents').all() as Array<{ path: string; json: string }>) {
    const agent = JSON.parse(row.json) as Record<string, unknown>;
    const inbox = Array.isArray(agent.inbox) ? agent.inbox as unknown[] : [];
    inbox.forEach((item, i) => insertInbox.run(row.path, i, JSON.stringify(item)));
    const length = lengths.get(row.path) ?? 0;
    const from = Math.max(0, length - LEGACY_CONTEXT_TURNS);
    delete agent.inbox;
    delete agent.conversationEpoch;
    Object.assign(agent, { inboxNextSeq: inbox.length, historyLength: length, contextFromSeq: from, contextSummarySeq: null });
    update.run(JSON.stringify(agent), from, row.path);
  }
}

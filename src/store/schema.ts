/** The SQLite schema. Agents are rows of JSON keyed by path; turns and events are append-only. */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS agents (path TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS turns (path TEXT NOT NULL, seq INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (path, seq));
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, path TEXT NOT NULL, type TEXT NOT NULL, ts TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_path ON events (path, id);
CREATE TABLE IF NOT EXISTS checkpoints (path TEXT NOT NULL, id TEXT NOT NULL, ts TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (path, id));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);
`;

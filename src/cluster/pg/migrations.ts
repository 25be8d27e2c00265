/**
 * The PostgreSQL schema, as numbered steps applied once each, in order (src/cluster/pg/migrate.ts). A released
 * step never changes: a new table or column is a new step at the end.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'daemons and subtree leases',
    sql: `
      CREATE TABLE daemons (
        id           text PRIMARY KEY,
        address      text NOT NULL,
        started_at   timestamptz NOT NULL,
        heartbeat_at timestamptz NOT NULL,
        draining     boolean NOT NULL DEFAULT false,
        load         integer NOT NULL DEFAULT 0 CHECK (load >= 0)
      );
      -- One row per root subtree ever owned. A released or expired lease keeps its owner and epoch: the next
      -- owner's epoch is one more, so every write the previous owner still attempts is refused (fencing).
      CREATE TABLE subtree_leases (
        root_path   text PRIMARY KEY,
        owner       text NOT NULL,
        epoch       bigint NOT NULL CHECK (epoch > 0),
        lease_until timestamptz NOT NULL
      );
      CREATE INDEX subtree_leases_owner ON subtree_leases (owner);
    `,
  },
  {
    version: 2,
    name: 'the store: agents, history turns, inbox, events, checkpoints',
    // The same tables as the SQLite store (src/store/schema.ts). JSON stays text: the daemon writes and reads it
    // whole, so jsonb would only add parsing on the server. Paths compare bytewise (COLLATE "C") so a subtree is the
    // range [path/, path0) whatever the database's locale.
    sql: `
      CREATE TABLE agents (
        path         text COLLATE "C" PRIMARY KEY,
        json         text NOT NULL,
        context_from integer NOT NULL DEFAULT 0,
        summary_seq  integer
      );
      CREATE TABLE turns (
        path text COLLATE "C" NOT NULL,
        seq  integer NOT NULL,
        kind text NOT NULL,
        json text NOT NULL,
        PRIMARY KEY (path, seq)
      );
      CREATE TABLE inbox (
        path text COLLATE "C" NOT NULL,
        seq  integer NOT NULL,
        json text NOT NULL,
        PRIMARY KEY (path, seq)
      );
      CREATE TABLE events (
        id   bigint PRIMARY KEY,
        path text COLLATE "C" NOT NULL,
        type text NOT NULL,
        ts   text NOT NULL,
        json text NOT NULL
      );
      CREATE INDEX events_by_path ON events (path, id);
      -- position keeps the order checkpoints were written in (SQLite's rowid); a rewrite moves one to the end.
      CREATE TABLE checkpoints (
        path     text COLLATE "C" NOT NULL,
        id       text NOT NULL,
        ts       text NOT NULL,
        json     text NOT NULL,
        position bigserial NOT NULL,
        PRIMARY KEY (path, id)
      );
      CREATE TABLE store_meta (
        key   text PRIMARY KEY,
        value bigint NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'approvals: tool calls held for a person',
    // As in the SQLite store: one row per approval, its JSON whole; removed with its agent.
    sql: `
      CREATE TABLE approvals (
        id    text PRIMARY KEY,
        path  text COLLATE "C" NOT NULL,
        state text NOT NULL,
        json  text NOT NULL
      );
      CREATE INDEX approvals_by_path ON approvals (path);
    `,
  },
  {
    version: 4,
    name: 'event ids in blocks, unique across daemons',
    // Each daemon numbers events from a block it takes with nextval (src/cluster/event-ids.ts): ids never collide,
    // and a block taken at a takeover is above every id the previous owner had. Starts above the ids already used.
    sql: `
      CREATE SEQUENCE event_id_blocks INCREMENT BY ${2 ** 20} MINVALUE 1;
      SELECT setval('event_id_blocks', 1 + greatest(
        (SELECT coalesce(max(id), 0) FROM events),
        (SELECT coalesce(max(value), 0) FROM store_meta WHERE key = 'event_id_high_water')), false);
    `,
  },
];

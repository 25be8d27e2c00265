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
];

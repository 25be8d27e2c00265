import type { Db } from './db.js';
import { MIGRATIONS, type Migration } from './migrations.js';

/** The advisory lock every migrator takes: any constant, the same in every daemon ("auton" in ASCII). */
export const MIGRATION_LOCK_KEY = 0x6175746f6e;

export class SchemaTooNewError extends Error {
  constructor(readonly found: number, readonly known: number) {
    super(`the database schema is at version ${found}, newer than this daemon knows (${known}): run the newer auton, or another database`);
    this.name = 'SchemaTooNewError';
  }
}

/** Versions ascending, unique, from 1 without gaps: a list that breaks this is a programming error caught by a test. */
export function checkMigrations(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration "${m.name}" has version ${m.version}; expected ${i + 1}`);
  });
}

/**
 * Applies every migration the database lacks, in one transaction under a transaction-level advisory lock: daemons
 * starting together wait for each other, and each step is applied exactly once (the second finds it recorded in
 * `schema_migrations`). A failed step rolls everything back (PostgreSQL DDL is transactional), so a database is
 * never left half-migrated. Returns the versions this call applied.
 */
export async function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  checkMigrations(migrations);
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    const done = new Set(rows.map((r) => r.version));
    const newest = rows.at(-1)?.version ?? 0;
    if (newest > migrations.length) throw new SchemaTooNewError(newest, migrations.length);
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await tx.query(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}

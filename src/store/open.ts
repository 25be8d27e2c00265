import type { Config } from '../config.js';
import { lockDatabase } from './lock.js';
import { PgStore } from './pg/pg-store.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { Store } from './store.js';

const STORE_OPTIONS: SqliteStoreOptions = { eventsRetained: 1_000_000, eventsLoadedAtStart: 5_000 };

/** AUTON_DB is a PostgreSQL URL: the PostgreSQL store. Anything else is a SQLite file path. */
export const isPostgresUrl = (db: string) => /^postgres(ql)?:\/\//.test(db);

/**
 * Opens the store AUTON_DB names. A SQLite file is locked to this daemon (a second one stops with one line); a
 * PostgreSQL database is connected to and migrated (a wrong URL or password stops start-up with one line, a
 * DatabaseStartError). `release` lets go of the SQLite lock after the store is closed.
 */
export async function openStore(config: Config): Promise<{ store: Store; release: () => void }> {
  if (isPostgresUrl(config.AUTON_DB)) return { store: await PgStore.open(config.AUTON_DB, STORE_OPTIONS), release: () => {} };
  const unlock = lockDatabase(config.AUTON_DB); // one writer per file
  try {
    return { store: new SqliteStore(config.AUTON_DB, STORE_OPTIONS, config.AUTON_DB_SYNC), release: unlock };
  } catch (error) {
    unlock();
    throw error;
  }
}

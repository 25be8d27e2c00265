import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ClusterMetrics } from '../cluster/metrics.js';
import { ClusterNode } from '../cluster/node.js';
import { lockDatabase } from './lock.js';
import { PgStore } from './pg/pg-store.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { Store } from './store.js';

const STORE_OPTIONS: SqliteStoreOptions = { eventsRetained: 1_000_000, eventsLoadedAtStart: 5_000 };

/** AUTON_DB is a PostgreSQL URL: the PostgreSQL store. Anything else is a SQLite file path. */
export const isPostgresUrl = (db: string) => /^postgres(ql)?:\/\//.test(db);

/** On PostgreSQL the daemon is a member of a cluster (one or more daemons): its node and the fenced store. */
export interface Cluster {
  node: ClusterNode;
  store: PgStore;
  metrics: ClusterMetrics;
}

/** Host name and port: stable across restarts (which then take their subtrees back at once), unique per machine. */
export function defaultDaemonId(config: Pick<Config, 'AUTON_PORT'>): string {
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 80) || 'auton';
  return `${host}:${config.AUTON_PORT === 0 ? randomUUID().slice(0, 8) : config.AUTON_PORT}`;
}

/**
 * Opens the store AUTON_DB names. A SQLite file is locked to this daemon (a second one stops with one line); a
 * PostgreSQL database is connected to and migrated (a wrong URL or password stops start-up with one line, a
 * DatabaseStartError), and this daemon joins the daemons sharing it. `release` lets go of the SQLite lock after the
 * store is closed.
 */
export async function openStore(config: Config, clock: () => number, logger: Logger | false): Promise<{ store: Store; release: () => void; cluster: Cluster | null }> {
  if (isPostgresUrl(config.AUTON_DB)) {
    // A daemon paused inside a commit lets go of its lease row's lock well before its lease could be taken over.
    const db = await PgStore.connect(config.AUTON_DB, { idleInTransactionMs: Math.max(1_000, Math.floor(config.AUTON_LEASE_TTL_MS / 3)) });
    const metrics = new ClusterMetrics();
    const node = new ClusterNode({ db, daemonId: config.AUTON_DAEMON_ID ?? defaultDaemonId(config), ttlMs: config.AUTON_LEASE_TTL_MS, clock, logger, metrics });
    const store = new PgStore(db, config.AUTON_DB, STORE_OPTIONS, node);
    return { store, release: () => {}, cluster: { node, store, metrics } };
  }
  const unlock = lockDatabase(config.AUTON_DB); // one writer per file
  try {
    return { store: new SqliteStore(config.AUTON_DB, { ...STORE_OPTIONS, cacheMiB: config.AUTON_SQLITE_CACHE_MIB }, config.AUTON_DB_SYNC), release: unlock, cluster: null };
  } catch (error) {
    unlock();
    throw error;
  }
}

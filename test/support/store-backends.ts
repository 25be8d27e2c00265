import { renameSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe } from 'vitest';
import { createDb, type Db } from '../../src/cluster/pg/db.js';
import { migrate } from '../../src/cluster/pg/migrate.js';
import { PgStore } from '../../src/store/pg/pg-store.js';
import { SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { describeWithPostgres, type TestPostgres } from './postgres.js';

export const STORE_OPTIONS: SqliteStoreOptions = { eventsRetained: 1_000_000, eventsLoadedAtStart: 50_000 };

/** A store the suite can count commits of (both implementations have a public `commit`). */
export type TestStore = Store & { commit(): unknown };

/**
 * One store implementation as the shared store tests see it: a fresh database per test, stores opened on it (the
 * same database again is a restart), and the faults each can suffer. The suites run once per backend, so every
 * behaviour of the `Store` interface is proven on SQLite and on PostgreSQL.
 */
export interface StoreBackend {
  name: 'sqlite' | 'postgres';
  /** The SQLite file (for tests of SQLite's own upgrades). */
  file?: string;
  open(options?: Partial<SqliteStoreOptions>): Promise<TestStore>;
  /** Closes a store the way a clean shutdown does. */
  closeClean(store: Store): Promise<void>;
  /** Ends a store as a killed process would: what it has queued never reaches the database. */
  crash(store: Store): Promise<void>;
  /** Every commit fails until `healWrites` (SQLite: the file moved away; PostgreSQL: the database refuses connections). */
  breakWrites(): Promise<void>;
  healWrites(): Promise<void>;
  /** What `problem()` says while writes are broken. */
  brokenProblem: RegExp;
  /** One value read straight from the database (SQL both understand). */
  scalar(sql: string, params: unknown[]): Promise<number>;
}

/** Runs `suite` against SQLite and, where its binaries are installed, a throwaway PostgreSQL server. */
export function describeStores(name: string, suite: (backend: () => StoreBackend) => void): void {
  describe(`${name} [sqlite]`, () => {
    let backend: StoreBackend;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ backend, cleanup } = await sqliteBackend());
    });
    afterEach(async () => cleanup());
    suite(() => backend);
  });
  describeWithPostgres(`${name} [postgres]`, (pg) => {
    let backend: StoreBackend;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ backend, cleanup } = await postgresBackend(pg()));
    });
    afterEach(async () => cleanup());
    suite(() => backend);
  });
}

async function sqliteBackend(): Promise<{ backend: StoreBackend; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'auton-store-'));
  const file = join(dir, 'nested', 'auton.db');
  const opened = new Set<Store>();
  const backend: StoreBackend = {
    name: 'sqlite',
    file,
    async open(options = {}) {
      const store = new SqliteStore(file, { ...STORE_OPTIONS, ...options });
      opened.add(store);
      return store;
    },
    async closeClean(store) {
      opened.delete(store);
      await store.close();
    },
    // Its commit runs on the next turn of the event loop: a store opened before that never sees the queued writes.
    async crash(store) {
      opened.delete(store);
    },
    async breakWrites() {
      renameSync(file, `${file}.away`);
    },
    async healWrites() {
      renameSync(`${file}.away`, file);
    },
    brokenProblem: /removed or replaced/,
    async scalar(sql, params) {
      const db = new Database(file, { readonly: true });
      try {
        return Number(Object.values(db.prepare(sql).get(...params) as Record<string, unknown>)[0]);
      } finally {
        db.close();
      }
    },
  };
  return {
    backend,
    cleanup: async () => {
      for (const store of opened) await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function postgresBackend(server: TestPostgres): Promise<{ backend: StoreBackend; cleanup: () => Promise<void> }> {
  const url = await server.createDatabase();
  const database = new URL(url).pathname.slice(1);
  const dbs = new Map<Store, Db>();
  const reader = createDb(url);
  await migrate(reader);
  const backend: StoreBackend = {
    name: 'postgres',
    async open(options = {}) {
      const db = createDb(url);
      const store = new PgStore(db, url, { ...STORE_OPTIONS, ...options });
      dbs.set(store, db);
      return store;
    },
    async closeClean(store) {
      dbs.delete(store);
      await store.close();
    },
    async crash(store) {
      await dbs.get(store)!.close(); // its connections are gone; a commit it still tries fails, as in a dead process
    },
    async breakWrites() {
      await server.psql(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false;
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database}' AND pid <> pg_backend_pid();`);
    },
    async healWrites() {
      await server.psql(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
    },
    brokenProblem: /not currently accepting connections|terminat/,
    async scalar(sql, params) {
      const { rows } = await reader.query(sql.replace(/\?/g, (_, i: number) => `$${sql.slice(0, i).split('?').length}`), params);
      return Number(Object.values(rows[0] as Record<string, unknown>)[0]);
    },
  };
  return {
    backend,
    cleanup: async () => {
      for (const store of dbs.keys()) await store.close();
      await reader.close();
    },
  };
}

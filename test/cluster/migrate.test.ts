import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseStartError, describeConnectionError, openDatabase } from '../../src/cluster/pg/connect.js';
import { createDb, type Db } from '../../src/cluster/pg/db.js';
import { checkMigrations, migrate, SchemaTooNewError } from '../../src/cluster/pg/migrate.js';
import { MIGRATIONS, type Migration } from '../../src/cluster/pg/migrations.js';
import { describeWithPostgres, PASSWORD_ROLE } from '../support/postgres.js';

const opened: Db[] = [];
const open = (url: string) => {
  const db = createDb(url);
  opened.push(db);
  return db;
};
afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.close()));
});

describeWithPostgres('PostgreSQL schema and start-up', (pg) => {
 describe('migrations', () => {
  it('a fresh database gets every migration once, recorded in schema_migrations; a second start applies nothing', async () => {
    const db = open(await pg().createDatabase());
    expect(await migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await migrate(db)).toEqual([]);
    const { rows } = await db.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
    expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    const tables = await db.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    expect(tables.rows.map((r) => r.t)).toEqual(['agents', 'approvals', 'checkpoints', 'daemons', 'events', 'inbox', 'schema_migrations', 'store_meta', 'subtree_leases', 'turns']);
  });

  it('daemons starting together on a fresh database all succeed and apply each migration exactly once', async () => {
    // A slow step keeps the first migrator inside its transaction while the others arrive: without the lock they
    // would all find schema_migrations empty and the later ones would fail on "already exists".
    const steps: Migration[] = [
      { version: 1, name: 'notes', sql: 'CREATE TABLE notes (id int PRIMARY KEY)' },
      { version: 2, name: 'slow', sql: 'SELECT pg_sleep(0.3); CREATE TABLE slow_notes (id int PRIMARY KEY)' },
    ];
    const url = await pg().createDatabase();
    const dbs = [open(url), open(url), open(url)];
    await Promise.all(dbs.map((db) => db.query('SELECT 1'))); // connected, so the migrations start at the same instant
    const applied = await Promise.all(dbs.map((db) => migrate(db, steps)));
    expect(applied.flat().sort()).toEqual([1, 2]);
    expect(applied.filter((a) => a.length > 0)).toHaveLength(1);
    const { rows } = await dbs[0]!.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations');
    expect(Number(rows[0]!.n)).toBe(2);
  });

  it('a failing migration leaves nothing behind: the steps before it are rolled back with it', async () => {
    const db = open(await pg().createDatabase());
    const good: Migration = { version: 1, name: 'notes', sql: 'CREATE TABLE notes (id int)' };
    await expect(migrate(db, [good, { version: 2, name: 'broken', sql: 'CREATE TABLE oops (' }])).rejects.toThrow(/syntax error/);
    const left = await db.query("SELECT 1 FROM pg_tables WHERE tablename IN ('notes', 'schema_migrations')");
    expect(left.rowCount).toBe(0);
    expect(await migrate(db, [good, { version: 2, name: 'fixed', sql: 'CREATE TABLE oops (id int)' }])).toEqual([1, 2]);
  });

  it('refuses a database migrated by a newer daemon', async () => {
    const db = open(await pg().createDatabase());
    await migrate(db);
    await db.query("INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')");
    await expect(migrate(db)).rejects.toThrow(SchemaTooNewError);
    await expect(migrate(db)).rejects.toThrow(/version 99, newer than this daemon knows/);
  });

  it('a migration list out of order is caught before it touches a database', () => {
    expect(() => checkMigrations([{ version: 2, name: 'x', sql: '' }])).toThrow(/version 2; expected 1/);
    expect(() => checkMigrations(MIGRATIONS)).not.toThrow();
  });
  });

 describe('start-up errors', () => {
  const startError = async (url: string) => {
    const error = await openDatabase(url).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseStartError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  };

  it('the right URL opens a database that answers', async () => {
    const db = await openDatabase(pg().url);
    opened.push(db);
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('a wrong password stops start-up with one line naming the user, never the password', async () => {
    const message = await startError(`postgres://${PASSWORD_ROLE.user}:not-the-password@127.0.0.1:${pg().port}/postgres`);
    expect(message).toContain(`password authentication failed for user "${PASSWORD_ROLE.user}"`);
    expect(message).not.toContain('not-the-password');
    // …and the right one gets in.
    opened.push(await openDatabase(`postgres://${PASSWORD_ROLE.user}:${PASSWORD_ROLE.password}@127.0.0.1:${pg().port}/postgres`));
  });

  it('no password where one is required, a missing database, a port nobody listens on: each one line', async () => {
    expect(await startError(`postgres://${PASSWORD_ROLE.user}@127.0.0.1:${pg().port}/postgres`)).toMatch(/asks user "secured" for a password|password authentication failed/);
    expect(await startError(`postgres://postgres@127.0.0.1:${pg().port}/nowhere`)).toContain('database "nowhere" does not exist');
    const closed = `postgres://postgres@127.0.0.1:1/postgres`;
    expect(await startError(closed)).toBe(`cannot use PostgreSQL at ${closed}: connection refused at 127.0.0.1:1 (is the server running and listening there?)`);
  });

  it('AUTON_DB that is not a postgres:// URL is named as such', async () => {
    expect(await startError('mysql://x@y/z')).toBe('AUTON_DB "mysql://x@y/z" is not a postgres:// URL');
  });
 });
});

it('describeConnectionError names network failures in one line and hides the password', () => {
  const url = 'postgres://app:s3cret@db.example:6432/auton';
  expect(describeConnectionError({ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND db.example' }, url))
    .toBe('cannot use PostgreSQL at postgres://app@db.example:6432/auton: unknown host in db.example:6432');
  expect(describeConnectionError(new Error('timeout expired\nstack…'), url)).toBe('cannot use PostgreSQL at postgres://app@db.example:6432/auton: db.example:6432 did not answer in time');
  expect(describeConnectionError({ code: 'XX000', message: 'something odd\nmore' }, url)).toBe('cannot use PostgreSQL at postgres://app@db.example:6432/auton: something odd');
  for (const code of ['ECONNREFUSED', 'ETIMEDOUT', '28P01', '3D000']) expect(describeConnectionError({ code, message: 'x' }, url)).not.toContain('s3cret');
});

import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A throwaway PostgreSQL server for tests and benchmarks: Debian's `postgresql` package (15), a data folder in a
 * temporary folder (a copy of one `initdb` made per machine), trust authentication on 127.0.0.1 and a free port,
 * stopped and removed afterwards. One server per test file (vitest runs each file in a fork of its own); a test
 * that needs an empty database asks for one (`createDatabase`, a fraction of a second) rather than a server.
 */
const run = promisify(execFile);

export const PG_BIN = process.env.AUTON_PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const postgresInstalled = ['initdb', 'pg_ctl', 'postgres', 'psql'].every((b) => existsSync(join(PG_BIN, b)));
export const INSTALL_HINT = 'apt-get install postgresql, or set AUTON_PG_BIN to its bin folder';

/** A role that must log in with a password (scram-sha-256), so tests can try a wrong one; every other role is trusted. */
export const PASSWORD_ROLE = { user: 'secured', password: 'right-password' };

export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`, the server's maintenance database. */
  url: string;
  port: number;
  /** The cluster's data folder (postmaster.pid is in it). */
  dataDir: string;
  /** A new, empty database; returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Runs SQL as the superuser through psql (set-up that is no business of the code under test). */
  psql(sql: string, database?: string): Promise<string>;
  /** Stops the server (fast shutdown: clients are disconnected) and keeps its data, to start it again with `resume`. */
  halt(): Promise<void>;
  /** Starts a halted server again on the same port and data. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** fsync and full-page writes on, as in production. Tests leave them off: nothing here survives a power cut. */
  durable?: boolean;
}

const asRoot = process.getuid?.() === 0;
/** initdb and postgres refuse to run as root; as root, run them as Debian's `postgres` system user. */
function asOwner(bin: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', join(PG_BIN, bin), ...args]] : [join(PG_BIN, bin), args];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

let databases = 0;

/** A folder the server's user owns (as root, Debian's `postgres` user). */
function ownedTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'])), Number(execFileSync('id', ['-g', 'postgres'])));
  return dir;
}

/**
 * A freshly initialised data folder, made once per machine and PostgreSQL installation and copied for each server:
 * a copy takes a fraction of a second, `initdb` a second or two. Built aside and renamed into place, so test files
 * starting together never see half a template (the losers of that race use the winner's).
 */
async function template(): Promise<string> {
  const key = createHash('sha256').update(`${PG_BIN} v1 ${process.getuid?.() ?? ''}`).digest('hex').slice(0, 12);
  const path = join(tmpdir(), `auton-pg-template-${key}`);
  if (existsSync(join(path, 'PG_VERSION'))) return path;
  const building = ownedTempDir('auton-pg-build-');
  const [cmd, args] = asOwner('initdb', ['-D', join(building, 'data'), '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
  await run(cmd, args);
  try {
    renameSync(join(building, 'data'), path);
  } catch (error) {
    if (!existsSync(join(path, 'PG_VERSION'))) throw error;
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return path;
}

/**
 * Stops and removes the servers of test processes that died without stopping them (a worker killed on a timeout
 * runs no exit handler). Each server's folder names the process that started it.
 */
function sweepOrphans(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!/^auton-pg-[A-Za-z0-9]{6}$/.test(name)) continue;
    const dir = join(tmpdir(), name);
    let owner: number;
    try { owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8')); } catch { continue; }
    try { process.kill(owner, 0); continue; } catch { /* the owner is gone */ }
    const [cmd, args] = asOwner('pg_ctl', ['stop', '-m', 'immediate', '-D', join(dir, 'data')]);
    spawnSync(cmd, args, { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startPostgres(options: PostgresOptions = {}): Promise<TestPostgres> {
  if (!postgresInstalled) throw new Error(`PostgreSQL not installed at ${PG_BIN} (${INSTALL_HINT})`);
  sweepOrphans();
  const source = await template();
  const dir = ownedTempDir('auton-pg-');
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const data = join(dir, 'data');
  const [cpCmd, cpArgs] = asRoot ? ['runuser', ['-u', 'postgres', '--', 'cp', '-a', source, data]] : ['cp', ['-a', source, data]];
  await run(cpCmd, cpArgs);
  writeFileSync(join(data, 'pg_hba.conf'), [
    'local all all trust',
    `host all ${PASSWORD_ROLE.user} 127.0.0.1/32 scram-sha-256`,
    'host all all 127.0.0.1/32 trust',
    '',
  ].join('\n'));
  const settings = [
    `-k ${dir}`, "-c listen_addresses=127.0.0.1", '-c max_connections=60', '-c shared_buffers=16MB',
    ...(options.durable ? [] : ['-c fsync=off', '-c full_page_writes=off', '-c synchronous_commit=off']),
  ].join(' ');
  let port = 0;
  const startOn = async (p: number) => {
    const [ctlCmd, ctlArgs] = asOwner('pg_ctl', ['start', '-w', '-t', '30', '-D', data, '-l', join(dir, 'log'), '-o', `${settings} -p ${p}`]);
    await run(ctlCmd, ctlArgs);
  };
  // The free port can be taken between our probe and the server's bind; a second try picks another.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await startOn(port);
      break;
    } catch (error) {
      if (attempt >= 2) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const stopSync = () => {
    const [cmd, args] = asOwner('pg_ctl', ['stop', '-m', 'immediate', '-D', data]);
    spawnSync(cmd, args, { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  // A test process that dies before afterAll must not leave a server behind.
  process.once('exit', stopSync);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const psql = async (sql: string, database = 'postgres') =>
    (await run(join(PG_BIN, 'psql'), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', database, '-c', sql])).stdout.trim();
  await psql(`CREATE ROLE ${PASSWORD_ROLE.user} LOGIN PASSWORD '${PASSWORD_ROLE.password}'`);
  return {
    url,
    port,
    dataDir: data,
    psql,
    async createDatabase(name = `t${process.pid}_${++databases}`) {
      await psql(`CREATE DATABASE ${name}`);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async halt() {
      const [cmd, args] = asOwner('pg_ctl', ['stop', '-m', 'fast', '-w', '-D', data]);
      await run(cmd, args);
    },
    resume: () => startOn(port),
    async stop() {
      process.removeListener('exit', stopSync);
      const [cmd, args] = asOwner('pg_ctl', ['stop', '-m', 'fast', '-w', '-D', data]);
      await run(cmd, args).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

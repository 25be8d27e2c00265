import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A throwaway PostgreSQL server for tests and benchmarks: Debian's `postgresql` package (15), `initdb` in a
 * temporary folder, trust authentication on 127.0.0.1 and a free port, stopped and removed afterwards. One server
 * per test file (vitest runs each file in a fork of its own); a test that needs an empty database asks for one
 * (`createDatabase`, tens of milliseconds) rather than a server (about a second).
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

export async function startPostgres(options: PostgresOptions = {}): Promise<TestPostgres> {
  if (!postgresInstalled) throw new Error(`PostgreSQL not installed at ${PG_BIN} (${INSTALL_HINT})`);
  const dir = mkdtempSync(join(tmpdir(), 'auton-pg-'));
  const data = join(dir, 'data');
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'])), Number(execFileSync('id', ['-g', 'postgres'])));
  const [initCmd, initArgs] = asOwner('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
  await run(initCmd, initArgs);
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
  // The free port can be taken between our probe and the server's bind; a second try picks another.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    const [ctlCmd, ctlArgs] = asOwner('pg_ctl', ['start', '-w', '-t', '30', '-D', data, '-l', join(dir, 'log'), '-o', `${settings} -p ${port}`]);
    try {
      await run(ctlCmd, ctlArgs);
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
    async stop() {
      process.removeListener('exit', stopSync);
      const [cmd, args] = asOwner('pg_ctl', ['stop', '-m', 'fast', '-w', '-D', data]);
      await run(cmd, args).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

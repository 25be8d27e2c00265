import { createDb, type Db, type DbOptions } from './db.js';

/** Start-up could not reach or log in to the database; the message is one line, without the password. */
export class DatabaseStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseStartError';
  }
}

/** `postgres://user@host:port/db` with the password left out; the text itself when it is not a URL. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

function target(url: string): { where: string; user: string; database: string } {
  try {
    const u = new URL(url);
    const host = u.hostname || new URLSearchParams(u.search).get('host') || 'localhost';
    return { where: `${host}:${u.port || '5432'}`, user: decodeURIComponent(u.username) || '(default user)', database: decodeURIComponent(u.pathname.slice(1)) || '(default database)' };
  } catch {
    return { where: '(unparsable URL)', user: '?', database: '?' };
  }
}

const field = (error: unknown, key: string): string | undefined => {
  if (typeof error !== 'object' || error === null || !(key in error)) return undefined;
  const value = (error as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : undefined;
};

/**
 * What went wrong connecting to `url`, in one line an operator can act on: the causes a wrong AUTON_DB produces
 * (refused, unknown host, timeout, wrong password, no such database or role, TLS) are named; anything else keeps
 * the driver's own first line. Never includes the password.
 */
export function describeConnectionError(error: unknown, url: string): string {
  const { where, user, database } = target(url);
  const code = field(error, 'code');
  const message = (field(error, 'message') ?? String(error)).split('\n')[0]!;
  const prefix = `cannot use PostgreSQL at ${redactUrl(url)}`;
  if (/^postgres(ql)?:\/\//.test(url) === false) return `AUTON_DB ${JSON.stringify(redactUrl(url))} is not a postgres:// URL`;
  switch (code) {
    case 'ECONNREFUSED': return `${prefix}: connection refused at ${where} (is the server running and listening there?)`;
    case 'ENOTFOUND': case 'EAI_AGAIN': return `${prefix}: unknown host in ${where}`;
    case 'ETIMEDOUT': case 'EHOSTUNREACH': case 'ENETUNREACH': return `${prefix}: ${where} did not answer (${code})`;
    case 'ECONNRESET': return `${prefix}: ${where} closed the connection (TLS required, or not a PostgreSQL server?)`;
    case '28P01': return `${prefix}: password authentication failed for user "${user}"`;
    case '28000': return `${prefix}: user "${user}" may not connect (${message})`;
    case '3D000': return `${prefix}: database "${database}" does not exist (create it with createdb ${database})`;
    case '57P03': return `${prefix}: the server is starting up or shutting down; try again`;
    case '53300': return `${prefix}: too many connections (${message})`;
  }
  if (/timeout/i.test(message)) return `${prefix}: ${where} did not answer in time`;
  if (/password must be a string|SASL|client password/i.test(message)) return `${prefix}: the server asks user "${user}" for a password and AUTON_DB gives none`;
  return `${prefix}: ${message}`;
}

/** Opens a pool and proves it can run a query; a failure is a DatabaseStartError with a one-line message. */
export async function openDatabase(url: string, options: DbOptions = {}): Promise<Db> {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new DatabaseStartError(describeConnectionError(undefined, url));
  const db = createDb(url, options);
  try {
    await db.query('SELECT 1');
    return db;
  } catch (error) {
    await db.close().catch(() => undefined);
    throw new DatabaseStartError(describeConnectionError(error, url));
  }
}

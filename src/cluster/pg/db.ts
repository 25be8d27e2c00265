import pg from 'pg';

/**
 * The narrow face of PostgreSQL the cluster code uses: a query, and a transaction on one connection. Only this
 * file knows the client library (`pg`, chosen with bench/pg-client.ts; README, "Several daemons").
 */
export interface Sql {
  query<Row extends object = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: Row[]; rowCount: number }>;
}

export interface Db extends Sql {
  /** Runs `body` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(body: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DbOptions {
  /** Connections kept open at most. */
  maxConnections?: number;
  /** Give up connecting after this long (a host that drops packets would otherwise hang start-up). */
  connectTimeoutMs?: number;
  /** Give up on a query after this long (a server that stopped answering without closing the connection). */
  queryTimeoutMs?: number;
  /**
   * The server ends a session left inside a transaction this long: a daemon paused mid-commit (SIGSTOP, a VM
   * frozen) would otherwise hold its lease row locked and keep every other daemon from taking the subtree over.
   */
  idleInTransactionMs?: number;
}

/** Connections per daemon: one for the group commit, one for lease renewal, a few for reads. */
export const DEFAULT_MAX_CONNECTIONS = 8;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

const wrap = (client: pg.Pool | pg.PoolClient | pg.Client): Sql => ({
  async query<Row extends object>(text: string, values?: readonly unknown[]) {
    const result = await client.query<Row & pg.QueryResultRow>(text, values as unknown[] | undefined);
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  },
});

/** A pool on `url`; nothing is connected until the first query (`openDatabase` checks the connection at once). */
export function createDb(url: string, options: DbOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    query_timeout: options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
    ...(options.idleInTransactionMs ? { idle_in_transaction_session_timeout: options.idleInTransactionMs } : {}),
  });
  // An idle connection the server closes (restart, network) is an 'error' on the pool; without a listener it would
  // crash the process. The pool drops it and the next query opens a new one.
  pool.on('error', () => undefined);
  const sql = wrap(pool);
  return {
    query: sql.query,
    async transaction<T>(body: (tx: Sql) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      // A checked-out client is not the pool's to watch: the server ending its session between two statements
      // (a shutdown, idle_in_transaction_session_timeout) is an 'error' on the client, which would crash the
      // process. The statement in flight, or the next one, fails and the transaction rolls back as for any error.
      let lost: Error | undefined;
      const onError = (error: Error) => { lost = error; };
      client.on('error', onError);
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await body(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        });
        throw error;
      } finally {
        // A connection whose rollback failed is in an unknown state: destroy it rather than return it to the pool.
        client.off('error', onError);
        client.release(broken ?? lost);
      }
    },
    close: () => pool.end(),
  };
}

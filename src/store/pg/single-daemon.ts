import { DatabaseStartError, redactUrl } from '../../cluster/pg/connect.js';
import { openSession, type Session } from '../../cluster/pg/db.js';

/** The session-level advisory lock of the daemon using a database ("auton" in ASCII, plus one: not the migrator's). */
export const STORE_LOCK_KEY = 0x6175746f6e + 1;

export const inUse = (url: string) =>
  `${redactUrl(url)} is in use by another auton daemon; stop it or set AUTON_DB to another database (several daemons on one database are not supported yet)`;

/**
 * One daemon per PostgreSQL database until subtrees are leased (docs/scale-out.md): the daemon holds a
 * session-level advisory lock on a connection of its own for as long as it runs, as a SQLite daemon holds its lock
 * file. A second daemon stops at start with one line. The lock goes with the connection: when the database comes
 * back after an outage, `check()` takes it again, and refuses (the store stays unwritable) if another daemon got it.
 */
export class SingleDaemonLock {
  private constructor(private readonly url: string, private session: Session | null) {}

  static async take(url: string): Promise<SingleDaemonLock> {
    const session = await openSession(url);
    if (!(await tryLock(session))) {
      await session.close().catch(() => undefined);
      throw new DatabaseStartError(inUse(url));
    }
    return new SingleDaemonLock(url, session);
  }

  /** Null while the lock is held (re-taken if its connection was lost), else why writes must wait. */
  async check(): Promise<string | null> {
    if (this.session?.alive()) return null;
    await this.session?.close().catch(() => undefined);
    this.session = null;
    const session = await openSession(this.url); // throws while the database is unreachable
    if (await tryLock(session)) {
      this.session = session;
      return null;
    }
    await session.close().catch(() => undefined);
    return inUse(this.url);
  }

  async release(): Promise<void> {
    await this.session?.close().catch(() => undefined);
    this.session = null;
  }
}

async function tryLock(session: Session): Promise<boolean> {
  const { rows } = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [STORE_LOCK_KEY]);
  return rows[0]?.locked === true;
}

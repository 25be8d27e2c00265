import { afterAll, afterEach, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import { listDaemons, registerDaemon } from '../../src/cluster/daemons.js';
import { LeaseKeeper, type LossReason } from '../../src/cluster/lease-keeper.js';
import { acquireLease, type Lease } from '../../src/cluster/leases.js';
import { createDb, type Db } from '../../src/cluster/pg/db.js';
import { migrate } from '../../src/cluster/pg/migrate.js';
import { describeWithPostgres } from '../support/postgres.js';

const TTL = 15_000;

describeWithPostgres('the lease keeper: renewal loop on PostgreSQL with fake timers', (pg) => {
  let url: string;
  let db: Db;
  let root = 0;
  const nextRoot = () => `/kept-${++root}`;
  const keepers: LeaseKeeper[] = [];
  const losses: Array<{ root: string; epoch: number; reason: LossReason }> = [];
  const errors: unknown[] = [];
  const keeper = (sql: Db = db, id = 'A') => {
    const k = new LeaseKeeper({
      sql, daemonId: id, ttlMs: TTL, clock: () => Date.now(), load: () => 3,
      onLost: (lease: Lease, reason) => losses.push({ root: lease.root, epoch: lease.epoch, reason }),
      onError: (error) => errors.push(error),
    });
    keepers.push(k);
    return k;
  };
  /** Moves the clock and timers on by `ms` and waits for the renewal they fired to finish. */
  const advance = async (k: LeaseKeeper, ms: number) => {
    await vi.advanceTimersByTimeAsync(ms);
    await k.settled();
  };
  /** Another daemon trying to take `r` now. */
  const otherTakes = (r: string, skewMs = 0) => acquireLease(db, r, 'B', Date.now() + skewMs, TTL);

  beforeAll(async () => {
    url = await pg().createDatabase();
    db = createDb(url);
    await migrate(db);
    await registerDaemon(db, { id: 'A', address: 'http://a' }, Date.now());
  });
  beforeEach(() => {
    losses.length = 0;
    errors.length = 0;
    // Only the keeper's timers and the clock: the database client's sockets and immediates stay real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    keepers.splice(0).forEach((k) => k.stop());
    vi.useRealTimers();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('renews every TTL/3, so the lease outlives many TTLs and nobody else can take it; the heartbeat carries the load', async () => {
    const a = keeper();
    const r = nextRoot();
    expect(await a.claim(r)).toMatchObject({ root: r, epoch: 1 });
    a.start();
    expect(a.renewEveryMs).toBe(5_000);
    for (let i = 0; i < 9; i++) {
      await advance(a, 5_000);
      expect(await otherTakes(r)).toBeNull();
    }
    expect(losses).toEqual([]);
    expect(errors).toEqual([]);
    expect(a.holds(r)?.untilMs).toBe(Date.now() + TTL);
    expect((await listDaemons(db)).find((d) => d.id === 'A')).toMatchObject({ heartbeatAtMs: Date.now(), load: 3 });
  });

  it('a paused owner loses the lease one TTL after its last renewal, and says so as soon as it runs again', async () => {
    const a = keeper();
    const r = nextRoot();
    await a.claim(r);
    a.start();
    await advance(a, 5_000); // renewed: now valid until 20 s
    a.stop(); // paused (SIGSTOP, a long GC, a frozen VM): no timer fires
    await vi.advanceTimersByTimeAsync(TTL - 1);
    expect(await otherTakes(r)).toBeNull();
    await vi.advanceTimersByTimeAsync(1);
    expect(await otherTakes(r)).toMatchObject({ epoch: 2, owner: 'B' });
    expect(losses).toEqual([]);
    a.start(); // resumes
    await advance(a, a.renewEveryMs);
    expect(losses).toEqual([{ root: r, epoch: 1, reason: 'expired' }]);
    expect(a.leases()).toEqual([]);
  });

  it('a lease taken by another daemon (whose clock runs ahead) is reported lost at the next renewal', async () => {
    const a = keeper();
    const r = nextRoot();
    const other = nextRoot();
    await a.claim(r);
    await a.claim(other);
    a.start();
    expect(await otherTakes(r, TTL)).toMatchObject({ epoch: 2 });
    await advance(a, a.renewEveryMs);
    expect(losses).toEqual([{ root: r, epoch: 1, reason: 'taken' }]);
    expect(a.leases().map((l) => l.root)).toEqual([other]);
  });

  it('when the database cannot be reached, gives the lease up before it could expire, not after', async () => {
    const isolated = await pg().createDatabase();
    const name = new URL(isolated).pathname.slice(1);
    const own = createDb(isolated);
    try {
      await migrate(own);
      const a = keeper(own);
      const r = nextRoot();
      const lease = (await a.claim(r))!;
      a.start();
      await pg().psql(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
      await advance(a, a.renewEveryMs); // 5 s: one failed renewal, 10 s of lease left: keep it
      expect(errors).toHaveLength(1);
      expect(String(errors[0])).toMatch(/not currently accepting connections/);
      expect(losses).toEqual([]);
      await advance(a, a.renewEveryMs); // 10 s: the next try (15 s) would be too late: stop now
      expect(losses).toEqual([{ root: r, epoch: lease.epoch, reason: 'unreachable' }]);
      expect(Date.now()).toBeLessThan(lease.untilMs);
    } finally {
      await pg().psql(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await own.close();
    }
  });

  it('adopts the roots of a daemon that stopped renewing, at the next epoch, and keeps them renewed', async () => {
    const [z1, z2] = [nextRoot(), nextRoot()];
    await acquireLease(db, z1, 'Z', Date.now(), TTL);
    await acquireLease(db, z2, 'Z', Date.now(), TTL);
    const c = keeper(db, 'C');
    expect(await c.claimExpired(100)).toEqual([]); // Z's leases are live
    await vi.advanceTimersByTimeAsync(TTL); // Z died: nobody renews
    const adopted = await c.claimExpired(100);
    expect(adopted.filter((l) => l.root === z1 || l.root === z2)).toMatchObject([{ root: z1, epoch: 2 }, { root: z2, epoch: 2 }]);
    c.start();
    for (let i = 0; i < 6; i++) await advance(c, c.renewEveryMs);
    expect(await otherTakes(z1)).toBeNull();
    expect(c.holds(z2)?.epoch).toBe(2);
    expect(losses).toEqual([]);
  });

  it('a release during a renewal still hands the root over at once (the renewal cannot extend it again)', async () => {
    const a = keeper();
    const r = nextRoot();
    await a.claim(r);
    a.start();
    for (let round = 0; round < 5; round++) {
      await vi.advanceTimersByTimeAsync(a.renewEveryMs); // a renewal starts and is still on the wire …
      await a.release(r); // … when the root is released
      expect(await otherTakes(r)).toMatchObject({ owner: 'B' });
      await a.settled();
      await vi.advanceTimersByTimeAsync(TTL);
      expect(await a.claim(r)).not.toBeNull();
    }
    expect(losses).toEqual([]);
  });

  it('drain hands every lease over at once and stops renewing', async () => {
    const a = keeper();
    const [r1, r2] = [nextRoot(), nextRoot()];
    await a.claim(r1);
    await a.claim(r2);
    a.start();
    await a.drain();
    expect(a.leases()).toEqual([]);
    expect(await otherTakes(r1)).toMatchObject({ epoch: 2 });
    expect(await otherTakes(r2)).toMatchObject({ epoch: 2 });
    await advance(a, 10 * a.renewEveryMs);
    expect(losses).toEqual([]); // handing over is not losing
  });
});

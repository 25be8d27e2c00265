import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeat, listDaemons, placeRoot, registerDaemon, removeDaemon, setDraining } from '../../src/cluster/daemons.js';
import { acquireLease, claimExpiredLeases, fence, LeaseLostError, listLeases, orphanShare, releaseLease, renewLeases, type Lease } from '../../src/cluster/leases.js';
import { createDb, type Db } from '../../src/cluster/pg/db.js';
import { migrate } from '../../src/cluster/pg/migrate.js';
import { describeWithPostgres } from '../support/postgres.js';

const TTL = 15_000;
const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);

describeWithPostgres('subtree leases and daemons on PostgreSQL', (pg) => {
  // Two daemons: each its own pool of connections to the one database, as two processes would have.
  let a: Db;
  let b: Db;
  let root = 0;
  const nextRoot = () => `/root-${++root}`;
  /** A write as an owner makes it: the fence, then the row, in one transaction. */
  const fencedWrite = (db: Db, lease: Lease, note: string) => db.transaction(async (tx) => {
    await fence(tx, lease);
    await tx.query('INSERT INTO notes (root_path, note) VALUES ($1, $2)', [lease.root, note]);
  });
  const notes = async (rootPath: string) =>
    (await a.query<{ note: string }>('SELECT note FROM notes WHERE root_path = $1 ORDER BY id', [rootPath])).rows.map((r) => r.note);

  beforeAll(async () => {
    const url = await pg().createDatabase();
    a = createDb(url);
    b = createDb(url);
    await migrate(a);
    await a.query('CREATE TABLE notes (id serial PRIMARY KEY, root_path text NOT NULL, note text NOT NULL)');
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  describe('leases', () => {
    it('two daemons claiming the same free root at the same instant: exactly one wins, every time (50 rounds)', async () => {
      for (let round = 0; round < 50; round++) {
        const r = nextRoot();
        const [gotA, gotB] = await Promise.all([acquireLease(a, r, 'A', T0, TTL), acquireLease(b, r, 'B', T0, TTL)]);
        expect([gotA, gotB].filter(Boolean)).toHaveLength(1);
        expect((gotA ?? gotB)!.epoch).toBe(1);
      }
    });

    it('two daemons taking over the same expired lease at the same instant: exactly one wins, at the next epoch (50 rounds)', async () => {
      for (let round = 0; round < 50; round++) {
        const r = nextRoot();
        await acquireLease(a, r, 'old', T0, TTL);
        const later = T0 + TTL;
        const [gotA, gotB] = await Promise.all([acquireLease(a, r, 'A', later, TTL), acquireLease(b, r, 'B', later, TTL)]);
        const winners = [gotA, gotB].filter((l): l is Lease => l !== null);
        expect(winners).toHaveLength(1);
        expect(winners[0]!.epoch).toBe(2);
        expect((await listLeases(a)).find((l) => l.root === r)).toMatchObject({ owner: winners[0]!.owner, epoch: 2 });
      }
    });

    it('a live lease is refused to another daemon; once expired it is taken with a higher epoch and the old owner\'s writes fail', async () => {
      const r = nextRoot();
      const old = (await acquireLease(a, r, 'A', T0, TTL))!;
      await fencedWrite(a, old, 'A while owner');
      expect(await acquireLease(b, r, 'B', T0 + TTL - 1, TTL)).toBeNull();
      const next = (await acquireLease(b, r, 'B', T0 + TTL, TTL))!;
      expect(next.epoch).toBe(old.epoch + 1);

      await expect(fencedWrite(a, old, 'A after losing it')).rejects.toThrow(LeaseLostError);
      await fencedWrite(b, next, 'B as the new owner');
      expect(await notes(r)).toEqual(['A while owner', 'B as the new owner']);
      expect(await renewLeases(a, 'A', [old], T0 + TTL + 1, TTL)).toEqual([]);
    });

    it('renewal keeps a lease past its first expiry; without it the lease goes to another daemon', async () => {
      const r = nextRoot();
      const held = (await acquireLease(a, r, 'A', T0, TTL))!;
      const [renewed] = await renewLeases(a, 'A', [held], T0 + TTL / 3, TTL);
      expect(renewed).toEqual({ ...held, untilMs: T0 + TTL / 3 + TTL });
      expect(await acquireLease(b, r, 'B', T0 + TTL, TTL)).toBeNull();
      await fencedWrite(a, renewed!, 'still A');
      // A pauses here and renews no more: one TTL after its last renewal the lease is B's.
      const taken = (await acquireLease(b, r, 'B', renewed!.untilMs, TTL))!;
      expect(taken.epoch).toBe(2);
      await expect(fencedWrite(a, renewed!, 'A woke up')).rejects.toThrow(LeaseLostError);
    });

    it('release hands a root over at once, even to a daemon whose clock is behind', async () => {
      const r = nextRoot();
      const held = (await acquireLease(a, r, 'A', T0, TTL))!;
      expect(await releaseLease(a, held)).toBe(true);
      const taken = (await acquireLease(b, r, 'B', T0 - 60_000, TTL))!;
      expect(taken.epoch).toBe(2);
      expect(await releaseLease(a, held)).toBe(false);
      await expect(fencedWrite(a, held, 'A after releasing')).rejects.toThrow(LeaseLostError);
    });

    it('an owner cannot take its own live lease a second time (it renews instead)', async () => {
      const r = nextRoot();
      await acquireLease(a, r, 'A', T0, TTL);
      expect(await acquireLease(a, r, 'A', T0 + 1, TTL)).toBeNull();
    });

    it('a takeover waits for a fenced write in progress: the write lands before the new epoch or not at all', async () => {
      const r = nextRoot();
      const old = (await acquireLease(a, r, 'A', T0, TTL))!;
      let committed = false;
      let releaseWrite!: () => void;
      const writeMayFinish = new Promise<void>((resolve) => { releaseWrite = resolve; });
      const write = a.transaction(async (tx) => {
        await fence(tx, old);
        await tx.query('INSERT INTO notes (root_path, note) VALUES ($1, $2)', [r, 'in flight']);
        await writeMayFinish;
        committed = true;
      });
      await expect.poll(async () => (await a.query("SELECT 1 FROM pg_locks WHERE relation = 'subtree_leases'::regclass AND mode = 'RowShareLock'")).rowCount).toBeGreaterThan(0);
      const takeover = acquireLease(b, r, 'B', T0 + TTL, TTL).then((lease) => ({ lease, afterCommit: committed }));
      // The takeover is blocked on the row lock the fence holds (a backend waits on a lock) …
      await expect.poll(async () => (await a.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")).rowCount).toBe(1);
      releaseWrite();
      await write;
      // … and completes only after the write committed.
      expect(await takeover).toMatchObject({ lease: { epoch: 2, owner: 'B' }, afterCommit: true });
      expect(await notes(r)).toEqual(['in flight']);
    });
    it('failover: daemons scanning for orphaned roots together split them, each root once, at the next epoch', async () => {
      const url = await pg().createDatabase(); // a database of its own: no expired leases left by the tests above
      const own = createDb(url);
      const peer = createDb(url);
      try {
        await migrate(own);
        const dead = ['/o1', '/o2', '/o3', '/o4', '/o5', '/o6'];
        for (const r of dead) await acquireLease(own, r, 'dead', T0, TTL);
        await acquireLease(own, '/alive', 'live', T0 + TTL, TTL);
        const released = (await acquireLease(own, '/handed-over', 'drained', T0 + TTL, TTL))!;
        await releaseLease(own, released);
        const at = T0 + TTL;
        expect(await claimExpiredLeases(own, 'A', at - 1, TTL, 10)).toEqual([{ root: '/handed-over', owner: 'A', epoch: 2, untilMs: at - 1 + TTL }]);
        await releaseLease(own, { root: '/handed-over', owner: 'A', epoch: 2, untilMs: 0 });
        const [gotA, gotB] = await Promise.all([claimExpiredLeases(own, 'A', at, TTL, 4), claimExpiredLeases(peer, 'B', at, TTL, 4)]);
        const claimed = [...gotA, ...gotB].map((l) => l.root).sort();
        expect(claimed).toEqual(['/handed-over', ...dead].sort());
        expect([...gotA, ...gotB].every((l) => l.epoch === (l.root === '/handed-over' ? 3 : 2))).toBe(true);
        expect(await claimExpiredLeases(own, 'C', at, TTL, 10)).toEqual([]);
      } finally {
        await Promise.all([own.close(), peer.close()]);
      }
    });
    it('each scan takes its fair share of the orphans: their number over the live daemons, rounded up', async () => {
      const url = await pg().createDatabase();
      const db = createDb(url);
      try {
        await migrate(db);
        expect(await orphanShare(db, T0, TTL)).toBe(0);
        for (const r of ['/p1', '/p2', '/p3', '/p4', '/p5']) await acquireLease(db, r, 'dead', T0 - 2 * TTL, TTL);
        await acquireLease(db, '/held', 'd1', T0, TTL);
        for (const id of ['d1', 'd2']) await registerDaemon(db, { id, address: `http://${id}` }, T0);
        await registerDaemon(db, { id: 'silent', address: 'http://silent' }, T0 - 2 * TTL);
        expect(await orphanShare(db, T0, TTL)).toBe(3); // 5 orphans, 2 live daemons
        await registerDaemon(db, { id: 'd3', address: 'http://d3' }, T0);
        expect(await orphanShare(db, T0, TTL)).toBe(2);
      } finally {
        await db.close();
      }
    });
  });

  describe('daemons and placement', () => {
    it('places a new root on the least loaded live daemon, skipping draining and silent ones', async () => {
      await a.query('DELETE FROM daemons');
      const now = T0;
      await registerDaemon(a, { id: 'd1', address: 'http://10.0.0.1:8420', load: 5 }, now);
      await registerDaemon(a, { id: 'd2', address: 'http://10.0.0.2:8420', load: 2 }, now);
      await registerDaemon(a, { id: 'd3', address: 'http://10.0.0.3:8420', load: 0 }, now - TTL); // silent for a TTL
      await registerDaemon(a, { id: 'd4', address: 'http://10.0.0.4:8420', load: 1 }, now);
      await setDraining(a, 'd4');
      expect(await placeRoot(a, now, TTL)).toMatchObject({ id: 'd2', address: 'http://10.0.0.2:8420' });

      // d2 reports more work; d1 is now the least loaded.
      expect(await heartbeat(a, 'd2', now + 1, 9)).toBe(true);
      expect((await placeRoot(a, now + 1, TTL))?.id).toBe('d1');
      // d3 comes back to life with nothing to do.
      await heartbeat(a, 'd3', now + 2, 0);
      expect((await placeRoot(a, now + 2, TTL))?.id).toBe('d3');
      // Long after, nobody has spoken: nowhere to place.
      expect(await placeRoot(a, now + 10 * TTL, TTL)).toBeNull();
    });

    it('among equally loaded daemons the one holding fewer live leases gets the new root', async () => {
      await a.query('DELETE FROM daemons');
      await registerDaemon(a, { id: 'busy', address: 'http://busy', load: 0 }, T0);
      await registerDaemon(a, { id: 'idle', address: 'http://idle', load: 0 }, T0);
      await acquireLease(a, nextRoot(), 'busy', T0, TTL);
      expect((await placeRoot(a, T0, TTL))?.id).toBe('idle');
    });

    it('lists daemons with their state; a removed daemon is gone and its heartbeat says so', async () => {
      await a.query('DELETE FROM daemons');
      await registerDaemon(a, { id: 'x', address: 'http://x:1' }, T0);
      await setDraining(a, 'x');
      expect(await listDaemons(a)).toEqual([{ id: 'x', address: 'http://x:1', startedAtMs: T0, heartbeatAtMs: T0, draining: true, load: 0 }]);
      // Registering again (a restart with the same id) makes it fresh and not draining.
      await registerDaemon(a, { id: 'x', address: 'http://x:2' }, T0 + 5);
      expect((await listDaemons(a))[0]).toMatchObject({ address: 'http://x:2', draining: false, startedAtMs: T0 + 5 });
      await removeDaemon(a, 'x');
      expect(await listDaemons(a)).toEqual([]);
      expect(await heartbeat(a, 'x', T0 + 10, 0)).toBe(false);
    });
  });
});

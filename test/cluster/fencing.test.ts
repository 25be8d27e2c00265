import { afterAll, beforeAll, expect, it } from 'vitest';
import { acquireLease, type Lease } from '../../src/cluster/leases.js';
import { createDb, type Db } from '../../src/cluster/pg/db.js';
import { migrate } from '../../src/cluster/pg/migrate.js';
import { newAgentRecord } from '../../src/domain/agent.js';
import { policySchema } from '../../src/domain/schemas.js';
import type { Fencing } from '../../src/store/pg/fencing.js';
import { PgStore } from '../../src/store/pg/pg-store.js';
import { describeWithPostgres } from '../support/postgres.js';

/**
 * The PostgreSQL store fenced by leases (src/store/pg/fencing.ts): a daemon's writes are stored only while it holds
 * the lease of their root subtree at the epoch they were made under, and a write left out is never acknowledged.
 */
const TTL = 15_000;
const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);

/** This daemon's view of its leases, as the cluster node keeps it. */
class HeldLeases implements Fencing {
  readonly held = new Map<string, Lease>();
  readonly lostRoots: string[] = [];
  constructor(readonly owner: string) {}
  epochOf(root: string) {
    return this.held.get(root)?.epoch;
  }
  lost(root: string) {
    this.held.delete(root);
    this.lostRoots.push(root);
  }
  released(root: string) {
    this.held.delete(root);
  }
}

describeWithPostgres('a store fenced by subtree leases', (pg) => {
  let url: string;
  let reader: Db;
  const stored = async (path: string) => (await reader.query('SELECT 1 FROM agents WHERE path = $1', [path])).rowCount === 1;
  const agent = (path: string) => {
    const [parent, id] = path.includes('/') ? [path.slice(0, path.lastIndexOf('/')), path.slice(path.lastIndexOf('/') + 1)] : [null, path];
    return newAgentRecord({ id: id!, parentPath: parent, depth: parent ? 1 : 0, spec: { goal: 'g', model: 'm', tools: [], schedule: null, max_tokens: 10 } as never, policy: policySchema.parse({}), nowMs: T0 });
  };

  beforeAll(async () => {
    url = await pg().createDatabase();
    reader = createDb(url);
    await migrate(reader);
  });
  afterAll(async () => reader?.close());

  it('writes under a held lease are stored; once another daemon has taken the lease, they are refused and the subtree is reported lost', async () => {
    const leases = new HeldLeases('A');
    const store = new PgStore(createDb(url), url, { eventsRetained: 1_000, eventsLoadedAtStart: 0 }, leases);
    try {
      leases.held.set('alpha', (await acquireLease(reader, 'alpha', 'A', T0, TTL))!);
      store.saveAgent(agent('alpha'));
      await store.flush();
      expect(await stored('alpha')).toBe(true);

      // A paused past its lease: B takes it over (epoch 2). A still believes it holds epoch 1.
      expect((await acquireLease(reader, 'alpha', 'B', T0 + TTL + 1, TTL))?.epoch).toBe(2);
      store.saveAgent(agent('alpha/child'));
      await expect(store.flush()).rejects.toThrow(/lost its lease on alpha before the change was stored/);
      expect(await stored('alpha/child')).toBe(false);
      expect(leases.lostRoots).toEqual(['alpha']);
    } finally {
      await store.close();
    }
  });

  it('a write made under a lease lost before its commit is left out and its waiter refused, while the other subtrees\' writes are stored', async () => {
    const leases = new HeldLeases('A');
    const store = new PgStore(createDb(url), url, { eventsRetained: 1_000, eventsLoadedAtStart: 0 }, leases);
    try {
      for (const root of ['beta', 'gamma']) leases.held.set(root, (await acquireLease(reader, root, 'A', Date.now(), TTL))!);
      store.saveAgent(agent('beta'));
      store.saveAgent(agent('gamma'));
      leases.held.delete('beta'); // lost between the write and its commit
      await expect(store.flush()).rejects.toThrow(/lost its lease on beta before the change was stored, and did not store it/);
      expect(await stored('beta')).toBe(false);
      expect(await stored('gamma')).toBe(true);
      // Writes made with no lease at all (a root this daemon never leased) are never stored either.
      store.saveAgent(agent('delta'));
      await expect(store.flush()).rejects.toThrow(/lost its lease on delta/);
      expect(await stored('delta')).toBe(false);
      store.saveAgent(agent('gamma/next'));
      await store.flush(); // and the store goes on with the subtrees it holds
      expect(await stored('gamma/next')).toBe(true);
    } finally {
      await store.close();
    }
  });
  it("a lease found lost at commit refuses only that subtree's callers: the rest of the batch is stored and acknowledged at once", async () => {
    const leases = new HeldLeases('A');
    const store = new PgStore(createDb(url), url, { eventsRetained: 1_000, eventsLoadedAtStart: 0 }, leases);
    try {
      for (const root of ['kappa', 'lambda']) leases.held.set(root, (await acquireLease(reader, root, 'A', T0, TTL))!);
      expect((await acquireLease(reader, 'kappa', 'B', T0 + TTL + 1, TTL))?.epoch).toBe(2); // B took kappa over
      store.saveAgent(agent('kappa/child'));
      store.saveAgent(agent('lambda'));
      const [kappa, lambda, unnamed] = await Promise.allSettled([store.flush('kappa/child'), store.flush('lambda'), store.flush()]);
      expect(kappa).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/lost its lease on kappa/) } });
      expect(lambda.status).toBe('fulfilled'); // not a 503 for a change that was stored
      expect(unnamed.status).toBe('rejected'); // a caller that named no agent cannot be told it was not its write
      expect([await stored('kappa/child'), await stored('lambda')]).toEqual([false, true]);
      expect(leases.lostRoots).toEqual(['kappa']);
      expect(store.isHealthy()).toBe(true); // nothing left to retry
    } finally {
      await store.close();
    }
  });

  it('purging a root deletes its lease with it, so leases do not pile up as roots come and go; a child\'s purge keeps it', async () => {
    const leases = new HeldLeases('A');
    const store = new PgStore(createDb(url), url, { eventsRetained: 1_000, eventsLoadedAtStart: 0 }, leases);
    const leaseRows = async (root: string) => (await reader.query('SELECT 1 FROM subtree_leases WHERE root_path = $1', [root])).rowCount;
    try {
      leases.held.set('omega', (await acquireLease(reader, 'omega', 'A', Date.now(), TTL))!);
      store.saveAgent(agent('omega'));
      store.saveAgent(agent('omega/leaf'));
      await store.flush();
      store.deleteAgent('omega/leaf');
      await store.flush();
      expect(await leaseRows('omega')).toBe(1);
      store.deleteAgent('omega');
      await store.flush();
      expect(await leaseRows('omega')).toBe(0);
      expect(leases.held.has('omega')).toBe(false); // no longer renewed
      expect(leases.lostRoots).toEqual([]); // given up, not lost
    } finally {
      await store.close();
    }
  });
});

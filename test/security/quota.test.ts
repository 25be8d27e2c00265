import { specSchema } from '../../src/domain/schemas.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ScopeQuotas } from '../../src/domain/scope-quota.js';
import { AgentTree } from '../../src/domain/tree.js';
import { api, expectError, spawnAgent, startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { dataOf, openSse } from '../support/sse-client.js';

const KEYS = { admin: 'admin-secret-0123456789', a: 'tenant-a-secret-0123456789', b: 'tenant-b-secret-0123456789' };

describe('17.7: per-scope agent quotas', () => {
  let t: TestDaemon;
  beforeEach(async () => {
    t = await startTestDaemon({
      AUTON_API_KEYS: `root=${KEYS.admin}:admin,tenant-a:team-a=${KEYS.a}:quota=5,tenant-b:team-b=${KEYS.b}:operator:quota=5`,
      // The whole tree would take far more than one tenant's quota.
      AUTON_MAX_AGENTS: '12',
    });
  });
  afterEach(() => t.close());

  it('17.7: a scoped key with quota 5 gets a 422 naming its quota on the 6th spawn while another tenant still spawns; after purging its dead agents it spawns again', async () => {
    const admin = api(t.url, KEYS.admin);
    const a = api(t.url, KEYS.a);
    const b = api(t.url, KEYS.b);
    await spawnAgent(admin, null, 'team-a');
    await spawnAgent(admin, null, 'team-b');
    for (const id of ['a1', 'a2', 'a3', 'a4']) await spawnAgent(a, 'team-a', id);
    await spawnAgent(a, 'team-a/a1', 'a5'); // a grandchild counts as well
    const sixth = await a.post('/agents/team-a', { id: 'a6', spec: { goal: 'one too many' } });
    expectError(sixth, 422, 'quota: scope team-a already holds 5 agents, dead ones included, and its quota is 5 (quota=5 on key tenant-a); purge dead agents (DELETE …?purge=true) to make room');
    // The same limit holds for an agent's own spawn_child (it goes through the same runtime call) and for forks.
    expect(() => t.daemon.runtime.spawn('team-a/a2', { id: 'kid', spec: specSchema.parse({ goal: 'g' }) }))
      .toThrow(/quota: scope team-a/);

    await spawnAgent(b, 'team-b', 'b1');

    // Dead agents count until purged: terminating is not enough.
    expect((await a.delete('/agents/team-a/a1')).status).toBe(200);
    expectError(await a.post('/agents/team-a', { id: 'a6', spec: { goal: 'g' } }), 422, /quota=5 on key tenant-a/);
    // The tenant may purge its dead agents (no admin needed), but not its scope's own agent or a live one.
    expectError(await a.delete('/agents/team-a?purge=true'), 403, /would remove the scope of key tenant-a/);
    expectError(await a.delete('/agents/team-a/a2?purge=true'), 403, /purges dead agents only/);
    expect((await a.delete('/agents/team-a/a1?purge=true&reason=make%20room')).status).toBe(200);
    await spawnAgent(a, 'team-a', 'a6');
    await spawnAgent(a, 'team-a', 'a7');
    expectError(await a.post('/agents/team-a', { id: 'a8', spec: { goal: 'g' } }), 422, /quota/);
  });

  it('17.7: purge keeps the audit trail: the purged agents\' events stay in the store and replay on /observe of the scope', async () => {
    const admin = api(t.url, KEYS.admin);
    const a = api(t.url, KEYS.a);
    await spawnAgent(admin, null, 'team-a');
    await spawnAgent(a, 'team-a', 'gone');
    await spawnAgent(a, 'team-a/gone', 'kid');
    await a.delete('/agents/team-a/gone?reason=finished');
    expect((await a.delete('/agents/team-a/gone?purge=true&reason=make%20room')).status).toBe(200);
    expectError(await a.get('/agents/team-a/gone'), 404);

    await t.daemon.runtime.store.flush();
    const stored = await t.daemon.runtime.store.eventsSince('team-a', 'subtree', 0, 1_000);
    if (stored === 'gone') throw new Error('events pruned');
    const types = (path: string) => stored.filter((e) => e.path === path).map((e) => e.type);
    expect(types('team-a/gone')).toEqual(expect.arrayContaining(['spawned', 'terminated', 'purged']));
    expect(types('team-a/gone/kid')).toEqual(expect.arrayContaining(['spawned', 'terminated', 'purged']));
    expect(stored.find((e) => e.path === 'team-a/gone' && e.type === 'purged')?.data).toMatchObject({ by: 'tenant-a', reason: 'make room' });
    expect(stored.find((e) => e.path === 'team-a/gone/kid' && e.type === 'purged')?.data).toMatchObject({ cascade_from: 'team-a/gone' });

    // The tenant reads it back itself: /observe of its scope replays the subtree's events, the purged ones included.
    const observe = await openSse(`${t.url}/agents/team-a/observe`, { key: KEYS.a, lastEventId: '0' });
    const purged = await observe.next((e) => e.event === 'purged' && dataOf(e).path === 'team-a/gone');
    observe.close();
    expect(dataOf(purged)).toMatchObject({ by: 'tenant-a', reason: 'make room' });
    expect(observe.events.some((e) => e.event === 'spawned' && dataOf(e).path === 'team-a/gone/kid')).toBe(true);
  });
});

describe('ScopeQuotas', () => {
  it('takes the tighter quota when two keys share a scope, and ignores unscoped keys', () => {
    const quotas = new ScopeQuotas([
      { name: 'k1', scope: 's', quota: 3 }, { name: 'k2', scope: 's', quota: 1 }, { name: 'k3', scope: null, quota: 9 }, { name: 'k4', scope: 'x' },
    ]);
    expect(quotas.size).toBe(1);
    const tree = new AgentTree();
    expect(() => quotas.checkSpawn(tree, 's')).not.toThrow(); // the scope's own agent is not counted
  });
});

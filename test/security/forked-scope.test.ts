import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { api, spawnAgent, startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { dataOf, openSse } from '../support/sse-client.js';

const KEYS = { admin: 'admin-secret-0123456789', teamA: 'team-a-secret-0123456789' };

describe('17.10g: the forked event under a key scope', () => {
  let t: TestDaemon;
  beforeEach(async () => {
    t = await startTestDaemon({ AUTON_API_KEYS: `root=${KEYS.admin}:admin,tenant:team-a=${KEYS.teamA}` });
  });
  afterEach(() => t.close());

  it("17.10g: a key scoped to the fork's source sees the forked event without the new sibling's path; in-scope forks keep it", async () => {
    const admin = api(t.url, KEYS.admin);
    const tenant = api(t.url, KEYS.teamA);
    await spawnAgent(admin, null, 'team-a');
    await spawnAgent(tenant, 'team-a', 'x');
    const live = await openSse(`${t.url}/agents/team-a/observe`, { key: KEYS.teamA });
    expect((await admin.post('/agents/team-a/checkpoint')).status).toBe(201);
    expect((await admin.post('/agents/team-a/fork', { id: 'rival-project' })).status).toBe(201);
    expect((await tenant.post('/agents/team-a/x/checkpoint')).status).toBe(201);
    expect((await tenant.post('/agents/team-a/x/fork', { id: 'x2' })).status).toBe(201);

    const outward = await live.next((e) => e.event === 'forked' && dataOf(e).path === 'team-a');
    const inward = await live.next((e) => e.event === 'forked' && dataOf(e).path === 'team-a/x');
    live.close();
    expect(dataOf(outward)).toMatchObject({ to: null, checkpoint: 'cp-1', by: 'root' });
    expect(dataOf(inward)).toMatchObject({ to: 'team-a/x2' });

    // The same on replay (Last-Event-ID) and in the /log backlog; an unscoped key still sees the name.
    const replay = await openSse(`${t.url}/agents/team-a/observe`, { key: KEYS.teamA, lastEventId: '0' });
    expect(dataOf(await replay.next((e) => e.event === 'forked' && dataOf(e).path === 'team-a'))).toMatchObject({ to: null });
    replay.close();
    const log = await openSse(`${t.url}/agents/team-a/log`, { key: KEYS.teamA });
    expect(dataOf(await log.next('forked'))).toMatchObject({ to: null });
    log.close();
    const adminLog = await openSse(`${t.url}/agents/team-a/log`, { key: KEYS.admin });
    expect(dataOf(await adminLog.next('forked'))).toMatchObject({ to: 'rival-project' });
    adminLog.close();
    for (const stream of [live, replay, log]) expect(JSON.stringify(stream.events)).not.toContain('rival-project');
  });
});

import { beforeEach, describe, expect, it } from 'vitest';
import { api, spawnAgent, type TestDaemon } from '../support/daemon.js';
import { daemonPerTest, requestsOf, scriptByAgent, TEXT_OK } from '../runner/runner-support.js';

const start = daemonPerTest();
const KEYS = { admin: 'admin-secret-0123456789', teamA: 'team-a-secret-0123456789' };
let t: TestDaemon;
beforeEach(async () => ({ t } = await start({ AUTON_API_KEYS: `root=${KEYS.admin}:admin,tenant:org/team-a=${KEYS.teamA}` })));

describe('17.10c: the system prompt and scopes', () => {
  it("17.10c: a scoped agent's system prompt does not name its out-of-scope parent's goal", async () => {
    scriptByAgent(t, { 'org/team-a': [TEXT_OK], 'org/team-a/worker': [TEXT_OK] });
    const admin = api(t.url, KEYS.admin);
    await spawnAgent(admin, null, 'org', { spec: { goal: 'ACQUIRE-COMPETITOR-QUIETLY' } });
    await spawnAgent(admin, 'org', 'team-a', { spec: { goal: 'write the team newsletter' } });
    await spawnAgent(api(t.url, KEYS.teamA), 'org/team-a', 'worker', { spec: { goal: 'find three stories' } });
    await t.fake.waitForRequests(3);
    const [scopeTop] = requestsOf(t, 'org/team-a');
    const [worker] = requestsOf(t, 'org/team-a/worker');
    expect(String(scopeTop!.body.system)).toContain('write the team newsletter');
    expect(String(scopeTop!.body.system)).toContain('spawned under "org"');
    expect(String(scopeTop!.body.system)).not.toContain('ACQUIRE-COMPETITOR-QUIETLY');
    expect(String(worker!.body.system)).toContain('spawned under "org/team-a"');
    expect(String(worker!.body.system)).not.toContain('write the team newsletter');
  });
});

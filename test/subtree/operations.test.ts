import { describe, expect, it } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import type { AgentEvent } from '../../src/events/types.js';
import { api, expectError, spawnAgent, type Api, type TestDaemon } from '../support/daemon.js';
import { daemonPerTest, TEXT_OK, waitForNode } from '../runner/runner-support.js';

const start = daemonPerTest();

/** r with children a (with x) and b; each agent's first call answered, so each is idle with a context. */
async function team(t: TestDaemon, http: Api): Promise<void> {
  t.fake.setHandler(() => TEXT_OK);
  await spawnAgent(http, null, 'r');
  await spawnAgent(http, 'r', 'a');
  await spawnAgent(http, 'r/a', 'x');
  await spawnAgent(http, 'r', 'b');
  for (const path of ['r', 'r/a', 'r/a/x', 'r/b']) await waitForNode(http, path, (n) => expect(n.state).toBe('idle'));
}

function record(t: TestDaemon, type: string): AgentEvent[] {
  const seen: AgentEvent[] = [];
  t.daemon.runtime.bus.addSink((e) => {
    if (e.type === type) seen.push(e);
  });
  return seen;
}

const paths = (body: { agents: AgentNodeJson[] }) => body.agents.map((a) => a.path);

describe('subtree operations', () => {
  it('suspend ?subtree=true stops every live agent children first; resume ?subtree=true starts them parents first', async () => {
    const { t, http } = await start();
    await team(t, http);
    const suspended = record(t, 'suspended');
    const resumed = record(t, 'resumed');
    await http.post('/agents/r/b/suspend', { reason: 'manual' }); // already suspended: left as it is
    suspended.length = 0;

    const res = await http.post<{ agents: AgentNodeJson[] }>('/agents/r/suspend?subtree=true', { detail: 'team pause' });
    expect(res.status).toBe(200);
    expect(paths(res.body)).toEqual(['r/a/x', 'r/a', 'r']);
    expect(res.body.agents.every((a) => a.state === 'suspended' && a.suspend_reason === 'manual')).toBe(true);
    expect(suspended.map((e) => e.path)).toEqual(['r/a/x', 'r/a', 'r']);
    expectError(await http.post('/agents/r/suspend?subtree=true'), 409, /no agent in the subtree of r can be suspended/);

    const back = await http.post<{ agents: AgentNodeJson[] }>('/agents/r/resume?subtree=true');
    expect(back.status).toBe(200);
    expect(paths(back.body)).toEqual(['r', 'r/a', 'r/a/x', 'r/b']);
    expect(resumed.map((e) => e.path)).toEqual(['r', 'r/a', 'r/a/x', 'r/b']);
    expect(back.body.agents.every((a) => a.state !== 'suspended')).toBe(true);
    expectError(await http.post('/agents/r/resume?subtree=true'), 409, /no agent in the subtree of r is suspended/);
  });

  it('checkpoint ?subtree=true is one cut, and fork ?subtree=true recreates the subtree from it with forked_from', async () => {
    const { t, http } = await start();
    await team(t, http);
    const cp = await http.post<{ cut: string; checkpoints: Array<{ path: string; id: string }> }>('/agents/r/checkpoint?subtree=true', { label: 'before' });
    expect(cp.status).toBe(201);
    expect(cp.body.checkpoints.map((c) => c.path)).toEqual(['r', 'r/a', 'r/a/x', 'r/b']);
    expect(cp.body.cut).toMatch(/^cut-/);
    await spawnAgent(http, 'r', 'late'); // after the cut: not part of the copy

    const fork = await http.post<{ agents: AgentNodeJson[] }>('/agents/r/fork?subtree=true', { id: 'r2' });
    expect(fork.status).toBe(201);
    expect(paths(fork.body)).toEqual(['r2', 'r2/a', 'r2/a/x', 'r2/b']);
    const byPath = new Map(cp.body.checkpoints.map((c) => [c.path, c.id]));
    for (const copy of fork.body.agents) {
      const source = copy.path.replace(/^r2/, 'r');
      expect(copy.forked_from).toEqual({ path: source, checkpoint: byPath.get(source) });
    }
    const tree = (await http.get<AgentNodeJson>('/agents/r2')).body;
    expect(tree.children.map((c) => c.id)).toEqual(['a', 'b']);
    // The copies continue from the cut's contexts: x's copy has x's turns.
    expect(t.daemon.runtime.get('r2/a/x').conversation.toArray()).toEqual(t.daemon.runtime.get('r/a/x').conversation.toArray());

    await http.post('/agents/r/checkpoint', {}); // a checkpoint of r alone is not a cut
    expectError(await http.post('/agents/r/fork?subtree=true', {}), 422, /not part of a subtree checkpoint/);
  });

  it('restart ?subtree=true restarts parents first, and nothing at all when one of them is past max_restarts', async () => {
    const { t, http } = await start();
    await team(t, http);
    const restarted = record(t, 'restarted');
    const res = await http.post<{ agents: AgentNodeJson[] }>('/agents/r/restart?subtree=true', { reason: 'new tools' });
    expect(res.status).toBe(200);
    expect(paths(res.body)).toEqual(['r', 'r/a', 'r/a/x', 'r/b']);
    expect(restarted.map((e) => e.path)).toEqual(['r', 'r/a', 'r/a/x', 'r/b']);
    await spawnAgent(http, 'r', 'fragile', { policy: { max_restarts: 0 } });
    restarted.length = 0;
    expectError(await http.post('/agents/r/restart?subtree=true'), 422, /max_restarts: r\/fragile .*nothing in the subtree was restarted/);
    expect(restarted).toEqual([]);
  });

  it("a scoped key acts on its own subtree, and a subtree above its scope is a 404 as for an unknown agent", async () => {
    const { t } = await start({ AUTON_API_KEYS: 'ops=ops-key-0123456789abcdef:admin,team:r/a=team-key-0123456789abcdef:operator' });
    const ops = api(t.url, 'ops-key-0123456789abcdef');
    await team(t, ops);
    const teamKey = api(t.url, 'team-key-0123456789abcdef');
    expectError(await teamKey.post('/agents/r/suspend?subtree=true'), 404, 'agent r not found');
    const res = await teamKey.post<{ agents: AgentNodeJson[] }>('/agents/r/a/suspend?subtree=true');
    expect(res.status).toBe(200);
    expect(paths(res.body)).toEqual(['r/a/x', 'r/a']);
    expect((await ops.get<AgentNodeJson>('/agents/r')).body.state).toBe('idle');
    expect((await teamKey.post('/agents/r/a/checkpoint?subtree=true')).status).toBe(201);
    // The copy of r/a would be r's child, outside the key's scope.
    expect((await teamKey.post('/agents/r/a/fork?subtree=true')).status).toBe(403);
  });
});

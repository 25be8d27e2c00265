import { beforeEach, describe, expect, it } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { spawnAgent, type Api, type TestDaemon } from '../support/daemon.js';
import { daemonPerTest, lastUserBlocks, nextState, openLog, requestsOf, scriptByAgent, TEXT_OK } from '../runner/runner-support.js';

const start = daemonPerTest();
let t: TestDaemon;
let http: Api;
beforeEach(async () => ({ t, http } = await start()));

const PARENT_POLICY = { budget: { max_total_tokens: 10_000, max_tokens_per_hour: 2_000 }, max_children: 4, max_depth: 3 };

/** Has `p` (with PARENT_POLICY) call spawn_child once with `input`; answers the tool_result it got. */
async function spawnChildWith(input: Record<string, unknown>): Promise<Record<string, unknown>> {
  scriptByAgent(t, { p: [{ kind: 'tool_use', name: 'spawn_child', input, id: 'toolu_spawn' }, TEXT_OK] });
  await spawnAgent(http, null, 'p', { policy: PARENT_POLICY });
  const log = await openLog(t, 'p');
  await nextState(log, 'idle');
  log.close();
  return lastUserBlocks(requestsOf(t, 'p')[1]!)[0]!;
}

describe('17.10b: a child spawned with spawn_child', () => {
  it("17.10b: inherits its parent's budget and max_children, and one level less of max_depth", async () => {
    const result = await spawnChildWith({ id: 'kid', goal: 'count the gulls' });
    expect(result).toMatchObject({ content: 'spawned p/kid' });
    const kid = (await http.get<AgentNodeJson>('/agents/p/kid')).body;
    expect(kid.policy.budget).toEqual({ max_cost_usd: null, max_total_tokens: 10_000, max_tokens_per_hour: 2_000, max_runtime_seconds: null, subtree_max_cost_usd: null, subtree_max_total_tokens: null });
    expect(kid.policy).toMatchObject({ max_children: 4, max_depth: 2 });
  });

  it('17.10b: takes tighter limits when it asks for them', async () => {
    await spawnChildWith({ id: 'kid', goal: 'g', budget: { max_total_tokens: 500, max_runtime_seconds: 60 }, max_children: 0, max_depth: 1 });
    const kid = (await http.get<AgentNodeJson>('/agents/p/kid')).body;
    expect(kid.policy.budget).toEqual({ max_cost_usd: null, max_total_tokens: 500, max_tokens_per_hour: 2_000, max_runtime_seconds: 60, subtree_max_cost_usd: null, subtree_max_total_tokens: null });
    expect(kid.policy).toMatchObject({ max_children: 0, max_depth: 1 });
  });

  it.each([
    ['a looser token budget', { budget: { max_total_tokens: 1_000_000 } }, 'max_total_tokens 1000000 is looser than the 10000 you may give'],
    ['more children', { max_children: 50 }, 'max_children 50 is looser than the 4 you may give'],
    ['a deeper subtree', { max_depth: 3 }, 'max_depth 3 is looser than the 2 you may give'],
    ['a zero budget', { budget: { max_tokens_per_hour: 0 } }, 'max_tokens_per_hour must be a whole number of 1 or more'],
  ])('17.10b: refuses %s as an error tool_result and spawns nothing', async (_what, extra, message) => {
    const result = await spawnChildWith({ id: 'kid', goal: 'g', ...extra });
    expect(result).toMatchObject({ is_error: true, content: expect.stringContaining(message) });
    expect((await http.get<AgentNodeJson>('/agents/p')).body.children).toEqual([]);
  });
});

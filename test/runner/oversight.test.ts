import { describe, expect, it } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { spawnAgent } from '../support/daemon.js';
import type { FakeReply } from '../support/fake-messages-api.js';
import { dataOf } from '../support/sse-client.js';
import { daemonPerTest, expectToolUsesAnswered, lastUserBlocks, nextState, openLog, TEXT_OK } from './runner-support.js';

const start = daemonPerTest();

const listChildren = (input: Record<string, unknown> = {}): Extract<FakeReply, { kind: 'tool_use' }> => ({ kind: 'tool_use', name: 'list_children', input });

describe('the token budget', () => {
  it('suspends budget_exceeded right after the call that crossed max_total_tokens, and makes no further call', async () => {
    const { t, http } = await start();
    // Each call uses 60 tokens and asks for a tool, so an agent left running would call again at once.
    t.fake.setHandler(() => ({ ...listChildren({ n: t.fake.requests.length }), usage: { input_tokens: 50, output_tokens: 10 } }));
    await spawnAgent(http, null, 'a', { policy: { budget: { max_total_tokens: 100 } } });
    const log = await openLog(t, 'a');
    const suspended = await log.next('suspended');
    log.close();
    expect(dataOf(suspended)).toMatchObject({ reason: 'budget_exceeded', by: 'oversight' });
    const node = (await http.get<AgentNodeJson>('/agents/a')).body;
    expect(node).toMatchObject({ state: 'suspended', suspend_reason: 'budget_exceeded', health: { tokens_total: 120 } });
    expect(t.fake.requests).toHaveLength(2);
    // The tool of the crossing reply was never run.
    expect(log.events.filter((e) => e.event === 'tool_call')).toHaveLength(1);
    expect(log.events.find((e) => e.event === 'oversight')?.data).toMatchObject({ kind: 'token_budget', action: 'suspend' });
  });
});

describe('the token budget, resumed', () => {
  it('a budget-suspended agent resumed with guidance answers the tool call of its last reply first', async () => {
    const { t, http } = await start();
    t.fake.enqueue({ ...listChildren(), id: 'toolu_over', usage: { input_tokens: 90, output_tokens: 20 } }, TEXT_OK);
    await spawnAgent(http, null, 'a', { policy: { budget: { max_total_tokens: 100 } } });
    const log = await openLog(t, 'a');
    await log.next('suspended');
    await http.post('/agents/a/resume', { guidance: 'finish with what you have' });
    await log.next('suspended'); // still over budget after its next call
    log.close();
    expect(t.fake.requests).toHaveLength(2);
    expectToolUsesAnswered(t.fake.requests[1]!);
  });
});

describe('loop detection', () => {
  it('warns on the same tool and input three times in a row, then suspends loop_detected when the agent carries on', async () => {
    const { t, http } = await start();
    t.fake.setHandler(() => listChildren());
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    const warning = await log.next('oversight');
    expect(dataOf(warning)).toMatchObject({ kind: 'loop', action: 'warn' });
    expect(log.events.filter((e) => e.event === 'tool_call')).toHaveLength(3);
    const suspended = await log.next('suspended');
    log.close();
    expect(dataOf(suspended)).toMatchObject({ reason: 'loop_detected' });
    expect(log.events.filter((e) => e.event === 'oversight').map((e) => dataOf(e).action)).toEqual(['warn', 'suspend']);
    const node = (await http.get<AgentNodeJson>('/agents/a')).body;
    expect(node).toMatchObject({ state: 'suspended', suspend_reason: 'loop_detected', health: { loops_detected: 2 } });
    expect(t.fake.requests).toHaveLength(4);
  });

  it('a loop-suspended agent resumed with guidance first answers the tool call it was stopped at', async () => {
    const { t, http } = await start();
    t.fake.setHandler(() => (t.fake.requests.length <= 4 ? { ...listChildren(), id: `toolu_${t.fake.requests.length}` } : TEXT_OK));
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    await log.next('suspended');
    expect(t.fake.requests).toHaveLength(4);

    await http.post('/agents/a/resume', { guidance: 'stop listing, summarise' });
    await nextState(log, 'idle');
    log.close();
    expect(t.fake.requests).toHaveLength(5);
    const resumed = t.fake.requests[4]!;
    expectToolUsesAnswered(resumed);
    const blocks = lastUserBlocks(resumed);
    expect(blocks[0]).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_4', is_error: true });
    expect(blocks.at(-1)).toEqual({ type: 'text', text: '[operator guidance] stop listing, summarise' });
  });

  it('counts a short cycle (A, B, A, B, A, B) as a loop', async () => {
    const { t, http } = await start();
    t.fake.setHandler(() => listChildren(t.fake.requests.length % 2 === 0 ? { page: 2 } : {}));
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    const warning = await log.next('oversight');
    expect(dataOf(warning)).toMatchObject({ kind: 'loop', action: 'warn', detail: expect.stringContaining('cycle of 2') });
    expect(log.events.filter((e) => e.event === 'tool_call')).toHaveLength(6);
    await log.next('suspended');
    log.close();
    expect((await http.get<AgentNodeJson>('/agents/a')).body).toMatchObject({ suspend_reason: 'loop_detected', health: { loops_detected: 2 } });
  });

  it('leaves out a tool in policy.repeatable_tools', async () => {
    const { t, http } = await start({ AUTON_MAX_TURN_STEPS: '6' });
    t.fake.setHandler(() => listChildren());
    await spawnAgent(http, null, 'a', { policy: { repeatable_tools: ['list_children'] } });
    const log = await openLog(t, 'a');
    await log.next('step_limit');
    await nextState(log, 'idle');
    log.close();
    expect(log.events.filter((e) => e.event === 'tool_call')).toHaveLength(6);
    expect(log.events.some((e) => e.event === 'oversight')).toBe(false);
    expect((await http.get<AgentNodeJson>('/agents/a')).body).toMatchObject({ state: 'idle', health: { loops_detected: 0 } });
  });

  it('does not count calls of the same tool with different inputs', async () => {
    const { t, http } = await start({ AUTON_MAX_TURN_STEPS: '5' });
    t.fake.setHandler(() => listChildren({ n: t.fake.requests.length }));
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    await log.next('step_limit');
    log.close();
    expect(log.events.some((e) => e.event === 'oversight')).toBe(false);
    expect((await http.get<AgentNodeJson>('/agents/a')).body.health.loops_detected).toBe(0);
  });
});

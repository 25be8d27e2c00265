import type Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import type { AgentNodeJson, PolicyInput } from '../../src/domain/schemas.js';
import { parseAssessment } from '../../src/oversight/judge.js';
import { spawnAgent, type Api, type TestDaemon } from '../support/daemon.js';
import type { FakeReply } from '../support/fake-messages-api.js';
import { dataOf } from '../support/sse-client.js';
import { daemonPerTest, isJudgeRequest, nextState, openLog, toolNames } from '../runner/runner-support.js';

const JUDGE_MODEL = 'judge-test-model';

const startDaemon = daemonPerTest();
let http: Api;

/** A daemon judging after every turn; the judge answers `judge`, the agent ends each turn with text. */
async function start(judge: FakeReply, agentReply: FakeReply = { kind: 'text', text: 'progress' }): Promise<TestDaemon> {
  const started = await startDaemon({ AUTON_JUDGE_EVERY_TURNS: '1', AUTON_JUDGE_MODEL: JUDGE_MODEL });
  http = started.http;
  started.t.fake.setHandler((req) => (isJudgeRequest(req) ? judge : agentReply));
  return started.t;
}

const score = (coherence: number, usage = { input_tokens: 10, output_tokens: 5 }): FakeReply =>
  ({ kind: 'tool_use', name: 'report_assessment', input: { coherence, assessment: `coherence ${coherence}` }, usage });

async function spawnAndSettle(d: TestDaemon, to: 'idle' | 'suspended', policy?: PolicyInput) {
  await spawnAgent(http, null, 'a', policy ? { policy } : {});
  const log = await openLog(d, 'a');
  await nextState(log, to);
  return log;
}

describe('the drift judge', () => {
  it('is called after a turn with its model and report_assessment forced, and sets health.coherence', async () => {
    const d = await start(score(0.8));
    const log = await spawnAndSettle(d, 'idle');
    log.close();
    expect(log.events.find((e) => e.event === 'assessment')?.data).toMatchObject({ coherence: 0.8, drift: 0.2, assessment: 'coherence 0.8' });
    const judged = d.fake.requests.filter(isJudgeRequest);
    expect(judged).toHaveLength(1);
    expect(judged[0]!.body).toMatchObject({ model: JUDGE_MODEL, tool_choice: { type: 'tool', name: 'report_assessment' } });
    expect(toolNames(judged[0]!)).toEqual(['report_assessment']);
    // The judge reads the goal and the agent's turns.
    expect(JSON.stringify(judged[0]!.body.messages)).toContain('goal of a');
    expect(JSON.stringify(judged[0]!.body.messages)).toContain('progress');
    expect((await http.get<AgentNodeJson>('/agents/a')).body.health).toMatchObject({ coherence: 0.8, drift: 0.2 });
  });

  it('accumulates drift as 1 - coherence and suspends drift_detected once it passes policy.drift_threshold', async () => {
    const d = await start(score(0.7));
    const log = await spawnAndSettle(d, 'idle');
    expect((await http.get<AgentNodeJson>('/agents/a')).body.health).toMatchObject({ coherence: 0.7, drift: 0.3 });

    await http.post('/agents/a/message', { content: 'keep going' });
    const suspended = await log.next('suspended');
    log.close();
    expect(dataOf(suspended)).toMatchObject({ reason: 'drift_detected', by: 'oversight' });
    expect(log.events.find((e) => e.event === 'oversight')?.data).toMatchObject({ kind: 'drift', action: 'suspend' });
    const node = (await http.get<AgentNodeJson>('/agents/a')).body;
    expect(node).toMatchObject({ state: 'suspended', suspend_reason: 'drift_detected', health: { drift: 0.6 } });
  });

  it('follows a stricter drift_threshold from the policy', async () => {
    const d = await start(score(0.8));
    const log = await spawnAndSettle(d, 'suspended', { drift_threshold: 0.1 });
    log.close();
    expect((await http.get<AgentNodeJson>('/agents/a')).body).toMatchObject({ suspend_reason: 'drift_detected', health: { drift: 0.2 } });
  });

  it('suspends an agent whose coherence falls below 0.3 whatever its drift', async () => {
    const d = await start(score(0.2));
    const log = await spawnAndSettle(d, 'suspended', { drift_threshold: 1 });
    log.close();
    expect(log.events.find((e) => e.event === 'oversight')?.data).toMatchObject({ kind: 'coherence', action: 'suspend' });
    expect((await http.get<AgentNodeJson>('/agents/a')).body).toMatchObject({ suspend_reason: 'drift_detected', health: { coherence: 0.2 } });
  });

  it('tolerates a judge answering with plain JSON text instead of the tool', async () => {
    const d = await start({ kind: 'text', text: 'Here is my verdict: {"coherence": 0.9, "assessment": "on track"}' });
    const log = await spawnAndSettle(d, 'idle');
    log.close();
    expect(log.events.find((e) => e.event === 'assessment')?.data).toMatchObject({ coherence: 0.9, assessment: 'on track' });
    expect(log.events.some((e) => e.event === 'judge_error')).toBe(false);
    expect((await http.get<AgentNodeJson>('/agents/a')).body.health.coherence).toBe(0.9);
  });

  it('reports a judge answer without a score as judge_error and leaves the agent working', async () => {
    const d = await start({ kind: 'text', text: 'I cannot tell.' });
    const log = await spawnAndSettle(d, 'idle');
    log.close();
    expect(log.events.find((e) => e.event === 'judge_error')?.data).toMatchObject({ detail: expect.stringContaining('coherence') });
    expect((await http.get<AgentNodeJson>('/agents/a')).body).toMatchObject({ state: 'idle', health: { coherence: 1, drift: 0 } });
  });

  it('reports a failed judge call as judge_error and leaves the agent working', async () => {
    const d = await start({ kind: 'error', status: 400, message: 'no such judge model' });
    const log = await spawnAndSettle(d, 'idle');
    log.close();
    expect(log.events.find((e) => e.event === 'judge_error')?.data).toMatchObject({ detail: expect.stringContaining('no such judge model') });
    expect((await http.get<AgentNodeJson>('/agents/a')).body.state).toBe('idle');
  });

  it("counts the judge's tokens in tokens_total", async () => {
    const d = await start(score(0.9, { input_tokens: 300, output_tokens: 40 }), { kind: 'text', text: 'x', usage: { input_tokens: 20, output_tokens: 5 } });
    const log = await spawnAndSettle(d, 'idle');
    log.close();
    expect(log.events.some((e) => e.event === 'assessment')).toBe(true);
    expect((await http.get<AgentNodeJson>('/agents/a')).body.health.tokens_total).toBe(365);
  });

  it("suspends budget_exceeded when the judge's tokens cross max_total_tokens, before another model call", async () => {
    // The agent's call (25 tokens) stays under the budget; the judge's (340) crosses it. The agent asks for a tool,
    // so left running it would call the model again at once.
    const d = await start(score(0.9, { input_tokens: 300, output_tokens: 40 }),
      { kind: 'tool_use', name: 'list_children', input: {}, usage: { input_tokens: 20, output_tokens: 5 } });
    const log = await spawnAndSettle(d, 'suspended', { budget: { max_total_tokens: 100 } });
    log.close();
    expect((await http.get<AgentNodeJson>('/agents/a')).body).toMatchObject({ suspend_reason: 'budget_exceeded', health: { tokens_total: 365 } });
    expect(d.fake.requests).toHaveLength(2);
  });

  it('is not called when AUTON_JUDGE_EVERY_TURNS is 0', async () => {
    const { t, http: client } = await startDaemon({ AUTON_JUDGE_EVERY_TURNS: '0' });
    http = client;
    t.fake.setHandler(() => ({ kind: 'text', text: 'progress' }));
    const log = await spawnAndSettle(t, 'idle');
    log.close();
    expect(t.fake.requests.filter(isJudgeRequest)).toHaveLength(0);
  });
});

describe('parseAssessment', () => {
  const reply = (...content: Array<Record<string, unknown>>) => ({ content } as unknown as Anthropic.Message);
  const tool = (input: unknown) => ({ type: 'tool_use', id: 'toolu_1', name: 'report_assessment', input });
  const text = (value: string) => ({ type: 'text', text: value });

  it.each([
    ['the forced tool call', reply(tool({ coherence: 0.4, assessment: 'meh' })), { coherence: 0.4, assessment: 'meh' }],
    ['a numeric string score', reply(tool({ coherence: '0.6', assessment: 'ok' })), { coherence: 0.6, assessment: 'ok' }],
    ['a score above 1, clamped', reply(tool({ coherence: 3 })), { coherence: 1, assessment: '' }],
    ['a score below 0, clamped', reply(tool({ coherence: -2, assessment: 'x' })), { coherence: 0, assessment: 'x' }],
    ['JSON in text', reply(text('verdict: {"coherence": 0.5, "assessment": "drifting"} end')), { coherence: 0.5, assessment: 'drifting' }],
    ['a tool call without a score, then JSON text', reply(tool({ assessment: 'x' }), text('{"coherence": 0.3}')), { coherence: 0.3, assessment: '' }],
    ['no score anywhere', reply(text('no idea')), null],
    ['malformed JSON', reply(text('{coherence: high}')), null],
    ['a non-numeric score', reply(tool({ coherence: 'high' })), null],
    ['an empty reply', reply(), null],
  ])('reads %s', (_what, message, expected) => {
    expect(parseAssessment(message)).toEqual(expected);
  });
});

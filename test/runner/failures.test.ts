import { describe, expect, it, vi } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { spawnAgent } from '../support/daemon.js';
import { dataOf } from '../support/sse-client.js';
import { daemonPerTest, gate, nextState, openLog, record, TEXT_OK, waitForNode } from './runner-support.js';

const start = daemonPerTest();

describe('model failures', () => {
  it('recovers from an overloaded answer (529) within AUTON_MODEL_MAX_RETRIES', async () => {
    const { t, http } = await start({ AUTON_MODEL_MAX_RETRIES: '1' });
    t.fake.enqueue({ kind: 'error', status: 529, retryAfterSeconds: 0.01 }, TEXT_OK);
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    await nextState(log, 'idle');
    log.close();
    expect(t.fake.requests).toHaveLength(2);
    expect(log.events.some((e) => e.event === 'supervision' || e.event === 'suspended')).toBe(false);
    expect((await http.get<AgentNodeJson>('/agents/a')).body).toMatchObject({ state: 'idle', restart_count: 0 });
  });

  it("suspends execution_error with an error_message when a failure survives the retries and restart is 'never'", async () => {
    const { t, http } = await start({ AUTON_MODEL_MAX_RETRIES: '1' });
    t.fake.enqueue(
      { kind: 'error', status: 529, retryAfterSeconds: 0.01 },
      { kind: 'error', status: 529, message: 'still overloaded', retryAfterSeconds: 0.01 },
    );
    await spawnAgent(http, null, 'a', { policy: { restart: 'never' } });
    const log = await openLog(t, 'a');
    const suspended = await log.next('suspended');
    log.close();
    expect(dataOf(suspended)).toMatchObject({ reason: 'execution_error', by: 'supervision' });
    const node = (await http.get<AgentNodeJson>('/agents/a')).body;
    expect(node).toMatchObject({ state: 'suspended', suspend_reason: 'execution_error', restart_count: 0 });
    expect(node.error_message).toContain('529');
    expect(node.error_message).toContain('still overloaded');
    expect(t.fake.requests).toHaveLength(2);
  });

  it('restarts an agent whose policy allows it, and the restarted agent carries on', async () => {
    const { t, http } = await start({ AUTON_RESTART_BACKOFF_MS: '0' });
    t.fake.enqueue({ kind: 'error', status: 500 }, TEXT_OK);
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    const restarted = await log.next('restarted');
    await nextState(log, 'idle');
    log.close();
    expect(dataOf(restarted)).toMatchObject({ restart_count: 1, by: 'supervision' });
    expect((await http.get<AgentNodeJson>('/agents/a')).body).toMatchObject({ state: 'idle', restart_count: 1 });
    expect(t.fake.requests).toHaveLength(2);
  });

  it('keeps a message sent during the restart back-off until the agent starts again', async () => {
    const { t, http } = await start({ AUTON_RESTART_BACKOFF_MS: '500' });
    t.fake.enqueue({ kind: 'error', status: 500 }, TEXT_OK);
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    await log.next('restarted');
    expect((await http.get<AgentNodeJson>('/agents/a')).body.state).toBe('spawning');
    expect((await http.post('/agents/a/message', { content: 'while you were out' })).status).toBe(200);
    // Waking an agent that waits out its back-off must not start a model call early.
    expect(t.daemon.runner.busyCount()).toBe(0);
    await nextState(log, 'running');
    await nextState(log, 'idle');
    log.close();
    expect(t.fake.requests).toHaveLength(2);
    expect(JSON.stringify(t.fake.requests[1]!.body.messages)).toContain('[message from operator] while you were out');
  });

  it('an operator restart during the back-off starts the agent at once, without counting another restart', async () => {
    const { t, http } = await start({ AUTON_RESTART_BACKOFF_MS: '60000' });
    t.fake.enqueue({ kind: 'error', status: 500 }, TEXT_OK);
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    await log.next('restarted');
    expect((await http.get<AgentNodeJson>('/agents/a')).body.state).toBe('spawning');
    const res = await http.post<AgentNodeJson>('/agents/a/restart', { reason: 'no need to wait' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'running', restart_count: 1 });
    expect(dataOf(await log.next('restarted'))).toMatchObject({ backoff_skipped: true, restart_count: 1, by: 'operator', reason: 'no need to wait' });
    await nextState(log, 'idle');
    log.close();
    expect(t.fake.requests).toHaveLength(2);
  });

  it('suspends execution_error without restarting on a request the API refuses (400)', async () => {
    const { t, http } = await start({ AUTON_RESTART_BACKOFF_MS: '0' });
    t.fake.enqueue({ kind: 'error', status: 400, message: 'messages: bad turn' });
    await spawnAgent(http, null, 'a');
    const node = await waitForNode(http, 'a', (n) => expect(n.state).toBe('suspended'));
    expect(node).toMatchObject({ suspend_reason: 'execution_error', restart_count: 0 });
    expect(node.error_message).toContain('bad turn');
  });

  it('suspends execution_error naming ANTHROPIC_API_KEY when no key is set, and the daemon still serves', async () => {
    const { t, http } = await start({ ANTHROPIC_API_KEY: '' });
    await spawnAgent(http, null, 'a');
    const node = await waitForNode(http, 'a', (n) => expect(n.state).toBe('suspended'));
    expect(node).toMatchObject({ suspend_reason: 'execution_error', restart_count: 0 });
    expect(node.error_message).toContain('ANTHROPIC_API_KEY');
    expect(t.fake.requests).toHaveLength(0);
    expect((await http.get('/healthz')).status).toBe(200);
    await spawnAgent(http, null, 'b');
    expect((await http.get<{ total: number }>('/agents')).body.total).toBe(2);
  });
});

describe('halting an agent mid-call', () => {
  it('DELETE aborts the model call in flight at once: the agent is dead and the request aborted', async () => {
    const { t, http } = await start();
    await spawnAgent(http, null, 'a');
    await t.fake.waitForRequests(1);
    const started = performance.now();
    const res = await http.delete<AgentNodeJson>('/agents/a');
    expect(res.body.state).toBe('dead');
    await vi.waitFor(() => expect(t.fake.requests[0]!.aborted).toBe(true), { timeout: 1_000, interval: 5 });
    expect(performance.now() - started).toBeLessThan(500);
    expect(t.daemon.runner.busyCount()).toBe(0);
  });

  it('suspend aborts the call in flight, and a reply released afterwards changes nothing', async () => {
    const { t, http } = await start();
    const held = gate();
    t.fake.setHandler(() => held.reply);
    await spawnAgent(http, null, 'a');
    await t.fake.waitForRequests(1);
    const before = record(t, 'a').conversation.toArray();

    expect((await http.post<AgentNodeJson>('/agents/a/suspend')).body.state).toBe('suspended');
    await vi.waitFor(() => expect(t.fake.requests[0]!.aborted).toBe(true), { timeout: 1_000, interval: 5 });
    held.release({ kind: 'text', text: 'too late', usage: { input_tokens: 1000, output_tokens: 1000 } });
    // One more round trip through the daemon after the release, for anything the reply could have set off.
    const node = (await http.get<AgentNodeJson>('/agents/a')).body;
    expect(node).toMatchObject({ state: 'suspended', suspend_reason: 'manual', health: { tokens_total: 0 } });
    expect(record(t, 'a').conversation.toArray()).toEqual(before);
    expect(record(t, 'a').turnCount).toBe(0);
    expect(t.fake.requests).toHaveLength(1);
  });

  it('a resumed agent asks again and carries on from where it was', async () => {
    const { t, http } = await start();
    const held = gate();
    t.fake.setHandler(() => (t.fake.requests.length === 1 ? held.reply : TEXT_OK));
    await spawnAgent(http, null, 'a');
    await t.fake.waitForRequests(1);
    await http.post('/agents/a/suspend');
    held.release({ kind: 'text', text: 'too late' });
    const log = await openLog(t, 'a');
    await http.post('/agents/a/resume', { guidance: 'pick up where you left off' });
    await nextState(log, 'idle');
    log.close();
    expect(t.fake.requests).toHaveLength(2);
    const messages = t.fake.requests[1]!.body.messages;
    // Still one user turn (start + the guidance): the aborted call left nothing behind.
    expect(messages).toHaveLength(1);
    expect(JSON.stringify(messages[0]!.content)).toContain('[operator guidance] pick up where you left off');
  });
});

describe('AUTON_MAX_TURN_STEPS', () => {
  it('caps the model calls of one wake: a step_limit event, then the agent rests idle', async () => {
    const { t, http } = await start({ AUTON_MAX_TURN_STEPS: '3' });
    t.fake.setHandler(() => ({ kind: 'tool_use', name: 'list_children', input: { n: t.fake.requests.length } }));
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    const limit = await log.next('step_limit');
    await nextState(log, 'idle');
    log.close();
    expect(dataOf(limit).steps).toBe(3);
    expect(t.fake.requests).toHaveLength(3);
    expect((await http.get<AgentNodeJson>('/agents/a')).body.state).toBe('idle');
  });

  it('a message after the step limit wakes the agent for a fresh set of steps, answering the pending tool results', async () => {
    const { t, http } = await start({ AUTON_MAX_TURN_STEPS: '2' });
    t.fake.setHandler(() => ({ kind: 'tool_use', name: 'list_children', input: { n: t.fake.requests.length } }));
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    await log.next('step_limit');
    await nextState(log, 'idle');
    t.fake.setHandler(() => TEXT_OK);
    await http.post('/agents/a/message', { content: 'wrap up' });
    await nextState(log, 'idle');
    log.close();
    expect(t.fake.requests).toHaveLength(3);
    const last = t.fake.requests[2]!.body.messages.at(-1)!;
    const types = (last.content as Array<{ type: string }>).map((b) => b.type);
    expect(types).toEqual(['tool_result', 'text']);
  });
});

import { beforeEach, describe, expect, it } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { START_TEXT } from '../../src/runner/prompt.js';
import { spawnAgent, type Api, type TestDaemon } from '../support/daemon.js';
import { dataOf } from '../support/sse-client.js';
import { daemonPerTest, gate, lastUserText, nextState, openLog, requestPath, requestsOf, TEXT_OK } from './runner-support.js';

const start = daemonPerTest();
let t: TestDaemon;
let http: Api;
beforeEach(async () => ({ t, http } = await start()));

describe('a turn on the Messages API', () => {
  it('ends idle after a text reply, with a model_call event', async () => {
    t.fake.enqueue({ kind: 'text', text: 'I looked around.', usage: { input_tokens: 100, output_tokens: 20 } });
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    const call = await log.next('model_call');
    await nextState(log, 'idle');
    log.close();
    expect(dataOf(call)).toMatchObject({ model: 'claude-sonnet-4-6', stop_reason: 'end_turn', tokens: 120, text: 'I looked around.' });
    expect((await http.get<AgentNodeJson>('/agents/a')).body.state).toBe('idle');
    expect(t.fake.requests).toHaveLength(1);
  });

  it("adds the response's usage to tokens_total and token_rate at once, before any oversight pass", async () => {
    t.fake.enqueue({ kind: 'text', text: 'one', usage: { input_tokens: 100, output_tokens: 20 } });
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    expect(dataOf(await log.next('model_call')).tokens_total).toBe(120);
    await nextState(log, 'idle');
    const node = (await http.get<AgentNodeJson>('/agents/a')).body;
    expect(node.health).toMatchObject({ tokens_total: 120, token_rate: 120, last_check: null });

    t.fake.enqueue({ kind: 'text', text: 'two', usage: { input_tokens: 7, output_tokens: 3 } });
    await http.post('/agents/a/message', { content: 'again' });
    await nextState(log, 'idle');
    log.close();
    expect((await http.get<AgentNodeJson>('/agents/a')).body.health).toMatchObject({ tokens_total: 130, token_rate: 130 });
  });
});

describe('the prompt', () => {
  it("puts the goal, the path and the parent's path in the system prompt, and opens with a user turn", async () => {
    t.fake.setHandler(() => TEXT_OK);
    await spawnAgent(http, null, 'p', { spec: { goal: 'map the coastline' } });
    await spawnAgent(http, 'p', 'c', { spec: { goal: 'measure the bays' } });
    await t.fake.waitForRequests(2);
    const [child] = requestsOf(t, 'p/c');
    const system = String(child!.body.system);
    expect(system).toContain('measure the bays');
    expect(system).toContain('"p/c"');
    expect(system).toContain('"p"');
    expect(system).not.toContain('map the coastline'); // the parent's path, never its goal (17.10c)
    expect(child!.body.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: START_TEXT }] }]);

    const [root] = requestsOf(t, 'p');
    expect(String(root!.body.system)).toContain('root agent');
  });

  it('delivers a message in the next request and wakes the idle agent for it', async () => {
    t.fake.setHandler(() => TEXT_OK);
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    await nextState(log, 'idle');
    expect(t.fake.requests).toHaveLength(1);

    expect((await http.post('/agents/a/message', { content: 'the tide is coming in' })).status).toBe(200);
    await nextState(log, 'running');
    await nextState(log, 'idle');
    log.close();
    expect(t.fake.requests).toHaveLength(2);
    const second = t.fake.requests[1]!;
    expect(lastUserText(second)).toBe('[message from operator] the tide is coming in');
    // The whole conversation goes back: start, first reply, the message.
    expect(second.body.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
  });

  it('delivers guidance marked [operator guidance] in the next request and wakes the idle agent', async () => {
    t.fake.setHandler(() => TEXT_OK);
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    await nextState(log, 'idle');

    const res = await http.patch<AgentNodeJson>('/agents/a', { guidance: 'only the north shore' });
    expect(res.body.state).toBe('correcting');
    const delivered = await log.next('correction_delivered');
    await nextState(log, 'idle');
    log.close();
    expect(dataOf(delivered).guidance).toBe('only the north shore');
    expect(t.fake.requests).toHaveLength(2);
    expect(lastUserText(t.fake.requests[1]!)).toBe('[operator guidance] only the north shore');
  });

  it('acknowledges guidance (correction_delivered) when it is sent to the model, not when it is queued', async () => {
    const first = gate();
    t.fake.setHandler((req) => (t.fake.requests.indexOf(req) === 0 ? first.reply : TEXT_OK));
    await spawnAgent(http, null, 'a');
    await t.fake.waitForRequests(1);
    const log = await openLog(t, 'a');

    await http.patch('/agents/a', { guidance: 'slow down', reason: 'too fast' });
    await log.next('correction');
    expect(log.events.some((e) => e.event === 'correction_delivered')).toBe(false);

    first.release({ kind: 'text', text: 'working' });
    await log.next('correction_delivered');
    await nextState(log, 'idle');
    log.close();
    expect(t.fake.requests).toHaveLength(2);
    const second = t.fake.requests[1]!;
    expect(lastUserText(second)).toBe('[operator guidance] slow down');
    expect(requestPath(second)).toBe('a');
  });

  it('puts guidance before messages that wait with it', async () => {
    const first = gate();
    t.fake.setHandler((req) => (t.fake.requests.indexOf(req) === 0 ? first.reply : TEXT_OK));
    await spawnAgent(http, null, 'a');
    await t.fake.waitForRequests(1);
    const log = await openLog(t, 'a');
    await http.post('/agents/a/message', { content: 'status?', channel: 'ops' });
    await http.patch('/agents/a', { guidance: 'be brief' });
    first.release(TEXT_OK);
    await log.next('correction_delivered');
    await nextState(log, 'idle');
    log.close();
    expect(lastUserText(t.fake.requests[1]!)).toBe('[operator guidance] be brief\n[message from operator on ops] status?');
  });
});

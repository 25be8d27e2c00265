import { describe, expect, it } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { spawnAgent, type Api, type TestDaemon } from '../support/daemon.js';
import type { FakeReply } from '../support/fake-messages-api.js';
import { dataOf } from '../support/sse-client.js';
import { daemonPerTest, isJudgeRequest, nextState, openLog, record, requestsOf, waitForNode } from './runner-support.js';

/** Issue 17, item 9: model replies are checked at the edge. */
describe('replies checked at the edge (issue 17, item 9)', () => {
  const start = daemonPerTest();
  let t: TestDaemon;
  let http: Api;

  it('"usage with strings made tokens_total the string 01050015": bad usage counts as 0 and is named', async () => {
    ({ t, http } = await start());
    t.fake.enqueue(
      { kind: 'text', text: 'one', usage: { input_tokens: '0105', output_tokens: '0015' } },
    );
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    const call = dataOf(await log.next('model_call', 10_000));
    await nextState(log, 'idle', 10_000);
    expect(call.tokens_total).toBe(0);
    expect(call.usage_problems).toEqual(['input_tokens is "0105"', 'output_tokens is "0015"']);
    t.fake.enqueue({ kind: 'text', text: 'two', usage: { input_tokens: -40, output_tokens: 7 } });
    await http.post('/agents/a/message', { content: 'again' });
    await waitForNode(http, 'a', (n) => expect(n.health.tokens_total).toBe(7));
    const node = (await http.get<AgentNodeJson>('/agents/a')).body;
    expect(typeof node.health.tokens_total).toBe('number');
    log.close();
  });

  it('"a reply with empty content becomes an empty assistant turn that the API then refuses forever": it is not kept', async () => {
    ({ t, http } = await start());
    t.fake.enqueue({ kind: 'empty' }, { kind: 'text', text: 'hello again' });
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    expect(dataOf(await log.next('model_call', 10_000))).toMatchObject({ empty_reply: true });
    await nextState(log, 'idle', 10_000);
    await http.post('/agents/a/message', { content: 'are you there?' });
    await waitForNode(http, 'a', (n) => expect(n.state).toBe('idle'));
    await waitForNode(http, 'a', () => expect(t.fake.requests).toHaveLength(2));
    // The second request is valid (the fake refuses an empty assistant turn with a 400, as the API does).
    const [, second] = requestsOf(t, 'a');
    expect(second!.body.messages.map((m) => m.role)).toEqual(['user']);
    expect(JSON.stringify(second!.body.messages[0])).toContain('are you there?');
    expect(record(t, 'a').conversation.at(-1)).toContain('hello again');
    expect((await http.get<AgentNodeJson>('/agents/a')).body.suspend_reason).toBeUndefined();
    log.close();
  });

  it('"a judge reply that is not JSON counts as the agent\'s own failure": it is a judge_error, the agent carries on', async () => {
    ({ t, http } = await start({ AUTON_JUDGE_EVERY_TURNS: '1' }));
    const judge: FakeReply[] = [{ kind: 'raw', body: '<html>502 Bad Gateway</html>', contentType: 'text/html' }, { kind: 'error', status: 500 }];
    t.fake.setHandler((req) => (isJudgeRequest(req) ? judge.shift() ?? { kind: 'hang' } : { kind: 'text', text: 'progress' }));
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    expect(dataOf(await log.next('judge_error', 10_000)).detail).toBeTruthy();
    await nextState(log, 'idle', 10_000);
    await http.post('/agents/a/message', { content: 'next' });
    await log.next((e) => e.event === 'judge_error' && e !== log.events.find((x) => x.event === 'judge_error'));
    await nextState(log, 'idle', 10_000);
    const node = (await http.get<AgentNodeJson>('/agents/a')).body;
    expect(node).toMatchObject({ state: 'idle', restart_count: 0 });
    expect(log.events.some((e) => e.event === 'supervision' || e.event === 'suspended')).toBe(false);
    log.close();
  });

  it('"a 50 MB reply is kept and re-sent on every later call": a reply past AUTON_MODEL_MAX_REPLY_BYTES ends the call with a clear error', async () => {
    ({ t, http } = await start({ AUTON_MODEL_MAX_REPLY_BYTES: String(1024 * 1024) }));
    t.fake.enqueue({ kind: 'oversized', bytes: 3 * 1024 * 1024, chunked: true });
    await spawnAgent(http, null, 'a');
    const node = await waitForNode(http, 'a', (n) => expect(n.state).toBe('suspended'));
    expect(node.error_message).toMatch(/larger than AUTON_MODEL_MAX_REPLY_BYTES \(1048576 bytes\)/);
    expect(record(t, 'a').conversation.toArray().join('').length).toBeLessThan(1_000);
    expect(node.restart_count).toBe(0); // the same reply would come back: no restart loop
  });

  it('"a reply body that never ends is read until the 10-minute timeout": it is cut at the cap', async () => {
    ({ t, http } = await start({ AUTON_MODEL_MAX_REPLY_BYTES: String(256 * 1024) }));
    t.fake.enqueue({ kind: 'endless' });
    const before = process.memoryUsage().rss;
    await spawnAgent(http, null, 'a');
    const node = await waitForNode(http, 'a', (n) => expect(n.state).toBe('suspended'));
    expect(node.error_message).toMatch(/AUTON_MODEL_MAX_REPLY_BYTES/);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });
});

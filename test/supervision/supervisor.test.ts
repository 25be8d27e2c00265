import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import type { FakeReply, RecordedRequest } from '../support/fake-messages-api.js';
import { api, spawnAgent, startTestDaemon, type Api, type TestDaemon } from '../support/daemon.js';

/**
 * Supervision through the real daemon: its runner calls the fake Messages API, which fails the calls a test
 * chooses with a 500. No retries in the SDK and no back-off, so every decision happens at once.
 */
let d: TestDaemon;
let http: Api;
beforeEach(async () => {
  d = await startTestDaemon({ AUTON_MODEL_MAX_RETRIES: '0', AUTON_RESTART_BACKOFF_MS: '0' });
  http = api(d.url);
});
afterEach(() => d.close());

const SERVER_ERROR: FakeReply = { kind: 'error', status: 500 };
const HANG: FakeReply = { kind: 'hang' };

/** Which agent made a request (the system prompt names its path). */
function caller(req: RecordedRequest): string {
  const match = /running at path "([^"]+)"/.exec(String(req.body.system));
  return match?.[1] ?? '?';
}

const node = async (path: string) => (await http.get<AgentNodeJson>(`/agents/${path}`)).body;
/** Generous: the machine may be busy; waits end as soon as the condition holds. */
const WAIT_MS = 10_000;
const eventually = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: WAIT_MS, interval: 20 });

/** The agent's own `supervision` events, from its log. */
async function supervisionEvents(path: string) {
  return (await d.daemon.runtime.store.recentEvents(path, 500)).filter((e) => e.type === 'supervision').map((e) => e.data);
}

describe('restart policies, with every model call failing', () => {
  beforeEach(() => d.fake.setHandler(() => SERVER_ERROR));

  it('restart never: the failed agent is suspended with execution_error and is not restarted', async () => {
    await spawnAgent(http, null, 'r', { policy: { restart: 'never' } });
    await eventually(() => node('r')).toMatchObject({ state: 'suspended', suspend_reason: 'execution_error', restart_count: 0 });
    expect((await node('r')).error_message).toContain('500');
    expect(d.fake.requests).toHaveLength(1);
    expect(await supervisionEvents('r')).toEqual([expect.objectContaining({ kind: 'suspend', path: 'r' })]);
  });

  it('restart on_failure: restarted up to max_restarts, then suspended with execution_error', async () => {
    await spawnAgent(http, null, 'r', { policy: { restart: 'on_failure', max_restarts: 2 } });
    await eventually(() => node('r')).toMatchObject({ state: 'suspended', suspend_reason: 'execution_error' });
    const r = await node('r');
    expect(r.restart_count).toBe(2);
    expect(r.error_message).toContain('gave up after 2 of max_restarts 2');
    expect(d.fake.requests).toHaveLength(3); // the first run and one per restart
    expect((await supervisionEvents('r')).map((e) => e.kind)).toEqual(['restart', 'restart', 'suspend']);
    const restarts = (await d.daemon.runtime.store.recentEvents('r', 500)).filter((e) => e.type === 'restarted').map((e) => e.data.restart_count);
    expect(restarts).toEqual([1, 2]);
  });

  it('restart always: restarted after a failure like on_failure, within max_restarts', async () => {
    await spawnAgent(http, null, 'r', { policy: { restart: 'always', max_restarts: 1 } });
    await eventually(() => node('r')).toMatchObject({ state: 'suspended', suspend_reason: 'execution_error', restart_count: 1 });
    expect(d.fake.requests).toHaveLength(2);
  });

  it('a 400 from the Messages API (a request a restart cannot fix) suspends at once, whatever the policy', async () => {
    d.fake.setHandler(() => ({ kind: 'error', status: 400 }));
    await spawnAgent(http, null, 'r', { policy: { restart: 'on_failure', max_restarts: 5 } });
    await eventually(() => node('r')).toMatchObject({ state: 'suspended', suspend_reason: 'execution_error', restart_count: 0 });
    expect(d.fake.requests).toHaveLength(1);
  });
});

describe("the parent's supervision strategy", () => {
  /** `p/a` fails its first call; every other call hangs, so the others stay running. */
  function failFirstCallOf(path: string): void {
    let failed = false;
    d.fake.setHandler((req) => {
      if (caller(req) !== path || failed) return HANG;
      failed = true;
      return SERVER_ERROR;
    });
  }

  it('one_for_one restarts only the failed child', async () => {
    failFirstCallOf('p/a');
    await spawnAgent(http, null, 'p', { policy: { supervision: 'one_for_one' } });
    for (const id of ['a', 'b']) await spawnAgent(http, 'p', id);
    await eventually(async () => (await node('p/a')).restart_count).toBe(1);
    await d.fake.waitForRequests(4, WAIT_MS); // p, a, b, and a again after its restart
    const tree = await node('p');
    expect(tree.children.map((c) => [c.id, c.state, c.restart_count])).toEqual([['a', 'running', 1], ['b', 'running', 0]]);
    expect(tree.restart_count).toBe(0);
  });

  it("one_for_all restarts every live sibling too, and each one's restart_count grows", async () => {
    failFirstCallOf('p/a');
    await spawnAgent(http, null, 'p', { policy: { supervision: 'one_for_all' } });
    for (const id of ['b', 'c']) await spawnAgent(http, 'p', id);
    await d.fake.waitForRequests(3, WAIT_MS);
    await spawnAgent(http, 'p', 'a');
    await eventually(async () => (await node('p')).children.map((c) => [c.id, c.restart_count])).toEqual([['b', 1], ['c', 1], ['a', 1]]);
    const tree = await node('p');
    expect(tree.children.every((c) => c.state === 'running')).toBe(true);
    expect(tree.restart_count).toBe(0);
    expect(await supervisionEvents('p/b')).toEqual([expect.objectContaining({ kind: 'restart', cause: 'one_for_all: sibling p/a failed' })]);
    // each restarted sibling called the model again
    await d.fake.waitForRequests(7, WAIT_MS);
    expect(d.fake.requests.slice(4).map(caller).sort()).toEqual(['p/a', 'p/b', 'p/c']);
  });

  it('one_for_all leaves a suspended sibling suspended', async () => {
    failFirstCallOf('p/a');
    await spawnAgent(http, null, 'p', { policy: { supervision: 'one_for_all' } });
    await spawnAgent(http, 'p', 'b');
    expect((await http.post('/agents/p/b/suspend')).status).toBe(200);
    await spawnAgent(http, 'p', 'a');
    await eventually(async () => (await node('p/a')).restart_count).toBe(1);
    expect(await node('p/b')).toMatchObject({ state: 'suspended', suspend_reason: 'manual', restart_count: 0 });
  });

  it('escalate suspends the child and fails the parent under its own policy (on_failure → restarted)', async () => {
    failFirstCallOf('p/a');
    await spawnAgent(http, null, 'p', { policy: { supervision: 'escalate', restart: 'on_failure' } });
    await spawnAgent(http, 'p', 'a');
    await eventually(() => node('p/a')).toMatchObject({ state: 'suspended', suspend_reason: 'execution_error', restart_count: 0 });
    const p = await node('p');
    expect(p).toMatchObject({ state: 'running', restart_count: 1 });
    expect((await node('p/a')).error_message).toContain('escalated to p');
    expect(await supervisionEvents('p')).toEqual([expect.objectContaining({ kind: 'restart', cause: expect.stringContaining('child p/a failed') })]);
  });

  it('escalate to a parent with restart never suspends the parent too', async () => {
    failFirstCallOf('p/a');
    await spawnAgent(http, null, 'p', { policy: { supervision: 'escalate', restart: 'never' } });
    await spawnAgent(http, 'p', 'a');
    await eventually(() => node('p')).toMatchObject({ state: 'suspended', suspend_reason: 'execution_error', restart_count: 0 });
    expect(await node('p/a')).toMatchObject({ state: 'suspended', suspend_reason: 'execution_error' });
    expect((await node('p')).error_message).toContain('child p/a failed');
  });
});

describe('a restart resumes from the latest checkpoint', () => {
  const text = (turn: { content: unknown }): string => JSON.stringify(turn.content);

  it('rolls the conversation back: the next request starts with the checkpointed conversation, later turns gone', async () => {
    d.fake.enqueue({ kind: 'text', text: 'first answer' }, { kind: 'text', text: 'second answer' }, SERVER_ERROR);
    d.fake.setHandler(() => HANG);
    await spawnAgent(http, null, 'r');
    await eventually(async () => (await node('r')).state).toBe('idle');
    expect((await http.post('/agents/r/checkpoint')).status).toBe(201);
    const checkpointed = (await d.fake.waitForRequests(1, WAIT_MS))[0]!.body.messages.length + 1; // START + first answer
    await http.post('/agents/r/message', { content: 'second question' });
    await eventually(async () => d.daemon.runtime.get('r').turnCount).toBe(2);
    await eventually(async () => (await node('r')).state).toBe('idle');
    await http.post('/agents/r/message', { content: 'third question' }); // this call fails → restart from cp-1
    await eventually(() => node('r')).toMatchObject({ state: 'idle', restart_count: 1 });
    expect((await d.daemon.runtime.store.recentEvents('r', 500)).find((e) => e.type === 'restarted')?.data).toMatchObject({ from_checkpoint: 'cp-1' });

    await http.post('/agents/r/message', { content: 'fourth question' });
    const [first, , , next] = await d.fake.waitForRequests(4, WAIT_MS);
    const messages = next!.body.messages;
    expect(messages).toHaveLength(checkpointed + 1);
    expect(messages[0]).toEqual(first!.body.messages[0]);
    expect(text(messages[1]!)).toContain('first answer');
    expect(text(messages[2]!)).toContain('fourth question');
    expect(JSON.stringify(messages)).not.toMatch(/second|third/);
  });

  it('an agent checkpointed in the middle of a model call calls the model again with that conversation', async () => {
    let releaseFailure = (): void => {};
    const failure = new Promise<FakeReply>((resolve) => (releaseFailure = () => resolve(SERVER_ERROR)));
    d.fake.enqueue({ kind: 'text', text: 'first answer' });
    d.fake.setHandler((req) => (d.fake.requests.indexOf(req) === 1 ? failure : HANG));
    await spawnAgent(http, null, 'r');
    await eventually(async () => (await node('r')).state).toBe('idle');
    await http.post('/agents/r/message', { content: 'second question' });
    const [, inFlight] = await d.fake.waitForRequests(2, WAIT_MS);
    expect((await http.post('/agents/r/checkpoint')).status).toBe(201);
    releaseFailure();
    const [, , retried] = await d.fake.waitForRequests(3, WAIT_MS);
    expect(retried!.body.messages).toEqual(inFlight!.body.messages);
    expect(await node('r')).toMatchObject({ state: 'running', restart_count: 1 });
  });

  it('restarts fresh when the agent has no checkpoint', async () => {
    d.fake.enqueue({ kind: 'text', text: 'first answer' }, SERVER_ERROR);
    d.fake.setHandler(() => HANG);
    await spawnAgent(http, null, 'r');
    await eventually(async () => (await node('r')).state).toBe('idle');
    await http.post('/agents/r/message', { content: 'second question' });
    const [first, , fresh] = await d.fake.waitForRequests(3, WAIT_MS);
    expect(fresh!.body.messages).toEqual(first!.body.messages);
    expect(await node('r')).toMatchObject({ state: 'running', restart_count: 1 });
  });
});

describe('restart always after an oversight suspension', () => {
  /** The model calls the same tool with the same input on every turn: a loop oversight will catch. */
  beforeEach(() => d.fake.setHandler(() => ({ kind: 'tool_use', name: 'list_children', input: {} })));

  it('an always agent suspended for a loop is restarted from its checkpoint; an on_failure agent stays suspended', async () => {
    await spawnAgent(http, null, 'keeper', { policy: { restart: 'always', max_restarts: 1 } });
    await spawnAgent(http, null, 'plain', { policy: { restart: 'on_failure', max_restarts: 1 } });
    await eventually(() => node('plain')).toMatchObject({ state: 'suspended', suspend_reason: 'loop_detected', restart_count: 0 });
    // keeper loops, is restarted once, loops again and then stays suspended: max_restarts bounds it.
    await eventually(() => node('keeper')).toMatchObject({ state: 'suspended', suspend_reason: 'loop_detected', restart_count: 1 });
    const restarted = (await d.daemon.runtime.store.recentEvents('keeper', 500)).filter((e) => e.type === 'restarted');
    expect(restarted).toHaveLength(1);
    expect(String(restarted[0]!.data.cause)).toContain('loop_detected');
    expect((await d.daemon.runtime.store.recentEvents('plain', 500)).some((e) => e.type === 'restarted')).toBe(false);
  });
});

import { expect, it, vi, describe } from 'vitest';
import { newAgentRecord, turnJson, type AgentRecord, type Checkpoint, type TurnJson } from '../../src/domain/agent.js';
import { policySchema, specSchema } from '../../src/domain/schemas.js';
import type { AgentEvent } from '../../src/events/types.js';
import { EVENT_ID_BLOCK, EVENTS_BETWEEN_PRUNES } from '../../src/store/sqlite-store.js';
import type { Approval } from '../../src/domain/approval.js';
import { describeStores } from '../support/store-backends.js';

function agent(id: string, parentPath: string | null = null): AgentRecord {
  return newAgentRecord({
    id, parentPath, depth: parentPath === null ? 0 : parentPath.split('/').length,
    spec: specSchema.parse({ goal: `goal of ${id}` }), policy: policySchema.parse({}), nowMs: 1_000,
  });
}

const turn = (n: number): TurnJson => turnJson({ role: n % 2 === 0 ? 'user' : 'assistant', content: [{ type: 'text', text: `turn ${n}` }] });
const turns = (from: number, to: number): TurnJson[] => Array.from({ length: to - from }, (_, i) => turn(from + i));

let nextEventId = 1;
function event(path: string, type = 'tick', id = nextEventId++): AgentEvent {
  return { id, path, type, timestamp: new Date(1_000 + id).toISOString(), data: { n: id } };
}

const checkpoint = (path: string, n: number, toSeq: number): Checkpoint => ({
  id: `cp-${n}`, path, timestamp: new Date(n * 1000).toISOString(), state: 'idle', turns: toSeq,
  context: { summarySeq: null, fromSeq: 0, toSeq },
  health: { coherence: 1, drift: 0, token_rate: 0, tokens_total: 10 * n, loops_detected: 0, last_check: null },
});

const approval = (id: string, path: string, state: Approval['state'], createdAtMs: number): Approval => ({
  id, path, tool: 'fetch_webpage', input: { url: 'https://example.org' }, toolUseId: `toolu_${id}`, state, createdAtMs,
  expiresAtMs: createdAtMs + 60_000, onTimeout: 'deny', rule: { tool: 'fetch_*', from: path }, decidedAtMs: null, decidedBy: null,
  note: null, remember: null,
});

describeStores('the store', (backend) => {
  const open = (options?: Parameters<ReturnType<typeof backend>['open']>[0]) => backend().open(options);
  const reload = async () => (await open()).load();

  it('keeps approvals as they were last written, oldest first, and removes them with their agent', async () => {
    const store = await open();
    store.saveAgent(agent('ap'));
    store.saveAgent(agent('gone'));
    const held = approval('apr-1', 'ap', 'pending', 2_000);
    store.saveApproval(held);
    store.saveApproval(approval('apr-0', 'gone', 'pending', 1_000));
    held.state = 'allowed'; // written as it was when saved, not as it is at commit time
    store.saveApproval({ ...approval('apr-2', 'ap', 'denied', 3_000), decidedBy: 'ops', note: 'no' });
    await store.flush();
    store.deleteAgent('gone');
    await store.flush();
    const reopened = await open();
    await reopened.load();
    const stored = await reopened.loadApprovals();
    expect(stored.map((a) => [a.id, a.state, a.decidedBy])).toEqual([['apr-1', 'pending', null], ['apr-2', 'denied', 'ops']]);
    expect(stored[0]).toEqual(approval('apr-1', 'ap', 'pending', 2_000));
  });

  describe('group commit', () => {
    it('commits everything queued in one turn of the event loop once, and one flush answers every waiter', async () => {
      nextEventId = 1;
      const store = await open();
      const commit = vi.spyOn(store, 'commit');
      const agents = Array.from({ length: 50 }, (_, i) => agent(`a${i}`));
      const flushes: Array<Promise<void>> = [];
      for (const a of agents) {
        store.saveAgent(a);
        store.appendEvent(event(a.path, 'spawned'));
        flushes.push(store.flush());
      }
      await Promise.all(flushes);
      expect(commit).toHaveBeenCalledTimes(1);
      await store.flush(); // nothing queued: answers without another commit
      expect(commit).toHaveBeenCalledTimes(1);

      const reopened = await reload();
      expect(reopened.agents.map((a) => a.path).sort()).toEqual(agents.map((a) => a.path).sort());
      expect(reopened.events.map((e) => e.id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    });

    it('writes queued while a commit is under way go in the next one, and a flush waits for what was queued before it', async () => {
      const store = await open();
      store.saveAgent(agent('a'));
      const first = store.flush();
      await new Promise((resolve) => setImmediate(resolve)); // the first commit has started
      store.saveAgent(agent('b'));
      const second = store.flush();
      await Promise.all([first, second]);
      expect((await reload()).agents.map((x) => x.path)).toEqual(['a', 'b']);
    });

    it('writes an agent saved several times in a turn as it is at commit time', async () => {
      const store = await open();
      const a = agent('a');
      store.saveAgent(a);
      a.state = 'running';
      a.restartCount = 2;
      a.health.tokens_total = 1234;
      store.addInboxItem('a', 0, { kind: 'guidance', text: 'focus' });
      a.inboxNextSeq = 1;
      store.saveAgent(a);
      a.state = 'suspended';
      a.suspendReason = 'manual';
      await store.flush();
      const [loaded] = (await reload()).agents;
      expect(loaded).toMatchObject({ path: 'a', state: 'suspended', suspendReason: 'manual', restartCount: 2, health: { tokens_total: 1234 }, inbox: [{ kind: 'guidance', text: 'focus' }] });
    });

    it('applies a batch in order: an inbox taken then refilled, a turn appended then replaced, in one commit', async () => {
      const store = await open();
      store.saveAgent(agent('a'));
      store.addInboxItem('a', 0, { kind: 'message', content: 'old' });
      store.appendTurn('a', 0, 'turn', turn(0));
      await store.flush();
      store.takeInbox('a', 1);
      store.addInboxItem('a', 1, { kind: 'message', content: 'new' });
      store.appendTurn('a', 1, 'turn', turn(1));
      store.replaceTurn('a', 1, turn(3));
      store.replaceTurn('a', 0, turn(2)); // a row already on disk
      await store.flush();
      const r = await open();
      const [a] = (await r.load()).agents;
      expect(a!.inbox).toEqual([{ kind: 'message', content: 'new' }]);
      expect((await r.history('a', { limit: 10, order: 'asc' })).map((row) => row.json)).toEqual([turn(2), turn(3)]);
    });

    it('restores parents before children, whatever order they were saved in', async () => {
      const store = await open();
      store.saveAgent(agent('g', 'p/c'));
      store.saveAgent(agent('c', 'p'));
      store.saveAgent(agent('p'));
      await store.flush();
      expect((await reload()).agents.map((a) => a.path)).toEqual(['p', 'p/c', 'p/c/g']);
    });

    it('a failed commit rejects every waiter, keeps its batch and retries it until it is stored; meanwhile writes are refused', async () => {
      const store = await open();
      store.saveAgent(agent('a'));
      await store.flush();
      await backend().breakWrites();
      store.saveAgent(agent('b'));
      await expect(store.flush()).rejects.toThrow(/will be written when the store recovers/);
      expect(store.isHealthy()).toBe(false);
      expect(() => store.assertWritable()).toThrow(/nothing was changed/);
      expect(store.problem()).toMatch(backend().brokenProblem);
      await backend().healWrites();
      // Retried on its back-off timer (COMMIT_RETRY_MIN_MS, doubling): the store comes back by itself.
      await expect.poll(() => store.isHealthy(), { timeout: 10_000 }).toBe(true);
      expect(() => store.assertWritable()).not.toThrow();
      expect((await reload()).agents.map((x) => x.path)).toEqual(['a', 'b']);
    });
  });

  describe('checkpoints and deletion', () => {
    it('keeps checkpoints, in order, across a reopen, each with the context it refers to', async () => {
      const store = await open();
      store.saveAgent(agent('a'));
      turns(0, 4).forEach((json, seq) => store.appendTurn('a', seq, 'turn', json));
      store.saveCheckpoint(checkpoint('a', 1, 2));
      store.saveCheckpoint(checkpoint('a', 2, 4));
      expect((await store.listCheckpoints('a')).map((c) => c.id)).toEqual(['cp-1', 'cp-2']);
      await store.flush();
      const reopened = await open();
      await reopened.load();
      expect((await reopened.listCheckpoints('a')).map((c) => c.id)).toEqual(['cp-1', 'cp-2']);
      const cp2 = await reopened.loadCheckpoint('a', 'cp-2');
      expect(cp2).toEqual(checkpoint('a', 2, 4));
      expect((await reopened.checkpointContext(cp2!)).map((r) => r.json)).toEqual(turns(0, 4));
      expect((await reopened.checkpointContext((await reopened.loadCheckpoint('a', 'cp-1'))!)).map((r) => r.json)).toEqual(turns(0, 2));
      expect(await reopened.loadCheckpoint('a', 'cp-9')).toBeUndefined();
    });

    it('deleting an agent removes its row, turns, inbox and checkpoints, and a new agent at the path starts empty', async () => {
      const store = await open();
      store.saveAgent(agent('a'));
      turns(0, 3).forEach((json, seq) => store.appendTurn('a', seq, 'turn', json));
      store.addInboxItem('a', 0, { kind: 'message', content: 'hi' });
      store.saveCheckpoint(checkpoint('a', 1, 3));
      await store.flush();
      store.deleteAgent('a');
      expect(await store.listCheckpoints('a')).toEqual([]);
      const again = agent('a');
      again.historyLength = 1;
      store.appendTurn('a', 0, 'turn', turn(0));
      store.saveAgent(again);
      await store.flush();
      const reopened = await open();
      expect((await reopened.load()).agents.map((x) => [x.conversation.toArray(), x.inbox])).toEqual([[[turn(0)], []]]);
      expect(await reopened.listCheckpoints('a')).toEqual([]);
    });
  });

  describe('events', () => {
    it('replays events of a subtree or of one agent after a cursor', async () => {
      nextEventId = 1;
      const store = await open();
      for (const path of ['a', 'a/b', 'ab', 'a/b/c', 'z', 'a']) store.appendEvent(event(path));
      await store.flush();
      const ids = (r: AgentEvent[] | 'gone') => (r === 'gone' ? r : r.map((e) => `${e.id}:${e.path}`));
      expect(ids(await store.eventsSince('a', 'subtree', 0, 100))).toEqual(['1:a', '2:a/b', '4:a/b/c', '6:a']);
      expect(ids(await store.eventsSince('a', 'self', 0, 100))).toEqual(['1:a', '6:a']);
      expect(ids(await store.eventsSince('a', 'subtree', 2, 100))).toEqual(['4:a/b/c', '6:a']);
      expect(ids(await store.eventsSince('a', 'subtree', 0, 2))).toEqual(['1:a', '2:a/b']);
    });

    it("answers an agent's recent events, oldest first, counting those still waiting for their commit", async () => {
      nextEventId = 1;
      const store = await open();
      for (let i = 0; i < 6; i++) store.appendEvent(event(i % 2 ? 'b' : 'a'));
      await store.flush();
      store.appendEvent(event('a', 'pending'));
      expect((await store.recentEvents('a', 10)).map((e) => e.id)).toEqual([1, 3, 5, 7]);
      expect((await store.recentEvents('a', 2)).map((e) => [e.id, e.type])).toEqual([[5, 'tick'], [7, 'pending']]);
      await store.flush();
      expect((await store.recentEvents('a', 10)).map((e) => e.id)).toEqual([1, 3, 5, 7]);
    });

    it('prunes to the retained events, and a cursor before them is gone', async () => {
      nextEventId = 1;
      const store = await open({ eventsRetained: 100 });
      const total = EVENTS_BETWEEN_PRUNES + 1;
      for (let i = 0; i < total; i++) store.appendEvent(event(i % 2 === 0 ? 'a' : 'b'));
      await store.flush();
      expect(await store.eventsSince('a', 'subtree', 0, 10)).toBe('gone');
      expect(await store.eventsSince('a', 'subtree', total - 101, 10)).toBe('gone');
      const recent = await store.eventsSince('a', 'subtree', total - 100, 1_000);
      expect(recent).not.toBe('gone');
      const odd = Array.from({ length: 100 }, (_, i) => total - 99 + i).filter((id) => id % 2 === 1); // the events of `a`
      expect((recent as AgentEvent[]).map((e) => e.id)).toEqual(odd);

      const state = await (await open({ eventsRetained: 100, eventsLoadedAtStart: 30 })).load();
      expect(state.firstRetainedEventId).toBe(total - 99); // the last 100 are kept
      expect(state.events.map((e) => e.id)).toEqual(Array.from({ length: 30 }, (_, i) => total - 29 + i));
      expect(state.lastEventId).toBeGreaterThanOrEqual(total);
      const reopened = await open({ eventsRetained: 100 });
      await reopened.load();
      expect(await reopened.eventsSince('b', 'self', total - 101, 10)).toBe('gone');
      expect(await reopened.eventsSince('b', 'self', total - 100, 1)).toHaveLength(1);
    });

    it('never gives out an event id twice: after an unclean stop numbering resumes past the ids of the last commit', async () => {
      nextEventId = 1;
      const running = await open();
      running.appendEvent(event('a'));
      await running.flush(); // reserves ids up to 1 + EVENT_ID_BLOCK in the same transaction
      for (let i = 0; i < 5; i++) running.appendEvent(event('a'));
      await backend().crash(running); // the process dies here, with ids 2-6 already sent to SSE clients
      const state = await reload();
      expect(state.lastEventId).toBe(1 + EVENT_ID_BLOCK);
      expect(state.events.map((e) => e.id)).toEqual([1]);
    });

    it('keeps numbering without a gap after a clean close, and past the high-water mark after a crash', async () => {
      nextEventId = 1;
      const first = await open();
      for (let i = 0; i < 5; i++) first.appendEvent(event('a'));
      await backend().closeClean(first);
      const second = await open();
      expect((await second.load()).lastEventId).toBe(5);
      nextEventId = 6;
      second.appendEvent(event('a'));
      await second.flush();
      const crashed = await reload();
      expect(crashed.lastEventId).toBe(6 + EVENT_ID_BLOCK);
      expect(crashed.firstRetainedEventId).toBe(1);
    });

    it('starts numbering at 1 on an empty database', async () => {
      expect(await reload()).toMatchObject({ lastEventId: 0, firstRetainedEventId: 1, agents: [], events: [] });
    });
  });
});

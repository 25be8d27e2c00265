import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newAgentRecord, turnJson, type AgentRecord, type Checkpoint, type TurnJson } from '../../src/domain/agent.js';
import { policySchema, specSchema } from '../../src/domain/schemas.js';
import type { AgentEvent } from '../../src/events/types.js';
import { EVENT_ID_BLOCK, EVENTS_BETWEEN_PRUNES, SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite-store.js';

const OPTIONS: SqliteStoreOptions = { eventsRetained: 1_000_000, eventsLoadedAtStart: 50_000, turnsLoadedAtStart: 200 };

let dir: string;
let file: string;
const opened: SqliteStore[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auton-store-'));
  file = join(dir, 'nested', 'auton.db');
});
afterEach(async () => {
  for (const store of opened.splice(0)) store.close();
  await rm(dir, { recursive: true, force: true });
});

function open(options: Partial<SqliteStoreOptions> = {}): SqliteStore {
  const store = new SqliteStore(file, { ...OPTIONS, ...options });
  opened.push(store);
  return store;
}

/** Closes a store the way a clean shutdown does. */
function closeClean(store: SqliteStore): void {
  store.close();
  opened.splice(opened.indexOf(store), 1);
}

function agent(id: string, parentPath: string | null = null): AgentRecord {
  return newAgentRecord({
    id, parentPath, depth: parentPath === null ? 0 : parentPath.split('/').length,
    spec: specSchema.parse({ goal: `goal of ${id}` }), policy: policySchema.parse({}), nowMs: 1_000,
  });
}

const turn = (n: number): TurnJson => turnJson({ role: n % 2 === 0 ? 'user' : 'assistant', content: [{ type: 'text', text: `turn ${n}` }] });
const turns = (from: number, to: number): TurnJson[] => Array.from({ length: to - from }, (_, i) => turn(from + i));

let nextEventId = 1;
beforeEach(() => void (nextEventId = 1));
function event(path: string, type = 'tick', id = nextEventId++): AgentEvent {
  return { id, path, type, timestamp: new Date(1_000 + id).toISOString(), data: { n: id } };
}

describe('group commit', () => {
  it('commits everything queued in one turn of the event loop once, and one flush answers every waiter', async () => {
    const store = open();
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

    const reopened = open().load();
    expect(reopened.agents.map((a) => a.path)).toEqual(agents.map((a) => a.path));
    expect(reopened.events).toHaveLength(50);
    expect(reopened.events.map((e) => e.id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('writes an agent saved several times in a turn as it is at commit time', async () => {
    const store = open();
    const a = agent('a');
    store.saveAgent(a);
    a.state = 'running';
    a.restartCount = 2;
    a.health.tokens_total = 1234;
    a.inbox.push({ kind: 'guidance', text: 'focus' });
    store.saveAgent(a);
    a.state = 'suspended';
    a.suspendReason = 'manual';
    await store.flush();
    const [loaded] = open().load().agents;
    expect(loaded).toMatchObject({ path: 'a', state: 'suspended', suspendReason: 'manual', restartCount: 2, health: { tokens_total: 1234 }, inbox: [{ kind: 'guidance', text: 'focus' }] });
  });

  it('restores parents before children, whatever order they were saved in', async () => {
    const store = open();
    const child = agent('c', 'p');
    const grandchild = agent('g', 'p/c');
    store.saveAgent(grandchild);
    store.saveAgent(child);
    store.saveAgent(agent('p'));
    await store.flush();
    expect(open().load().agents.map((a) => a.path)).toEqual(['p', 'p/c', 'p/c/g']);
  });

  it('a failed commit rejects every waiter and marks the store unhealthy, until a commit succeeds', async () => {
    const store = open();
    store.appendEvent(event('a', 'x', 1));
    await store.flush();
    store.saveAgent(agent('b'));
    store.appendEvent(event('a', 'x', 1)); // a duplicate id: the whole transaction fails
    await expect(store.flush()).rejects.toThrow(/UNIQUE/);
    expect(store.isHealthy()).toBe(false);
    expect(open().load().agents).toEqual([]); // nothing of the failed transaction was written
    store.saveAgent(agent('c'));
    await store.flush();
    expect(store.isHealthy()).toBe(true);
  });
});

describe('conversations', () => {
  it('appends new turns to what is on disk', async () => {
    const store = open();
    const a = agent('a');
    a.conversation.push(...turns(0, 3));
    store.saveAgent(a);
    await store.flush();
    a.conversation.push(turn(3));
    store.saveAgent(a);
    await store.flush();
    expect(open().load().agents[0]!.conversation).toEqual(turns(0, 4));
  });

  it('rewrites the conversation when its epoch changes (restart, fork), dropping the replaced turns', async () => {
    const store = open();
    const a = agent('a');
    a.conversation.push(...turns(0, 6));
    store.saveAgent(a);
    await store.flush();
    a.conversation = turns(0, 2);
    a.conversationEpoch += 1;
    store.saveAgent(a);
    await store.flush();
    expect(open().load().agents[0]!.conversation).toEqual(turns(0, 2));
    a.conversation.push(turn(2));
    store.saveAgent(a);
    await store.flush();
    expect(open().load().agents[0]).toMatchObject({ conversation: turns(0, 3), conversationEpoch: 1 });
  });

  it('rewrites a turn changed in place once the epoch is bumped', async () => {
    const store = open();
    const a = agent('a');
    a.conversation.push(...turns(0, 3));
    store.saveAgent(a);
    await store.flush();
    a.conversation[2] = turnJson({ role: 'user', content: 'amended' });
    a.conversationEpoch += 1;
    store.saveAgent(a);
    await store.flush();
    expect(open().load().agents[0]!.conversation.at(-1)).toEqual(turnJson({ role: 'user', content: 'amended' }));
  });

  it('loads only the latest turns, and appends after the ones left on disk rather than over them', async () => {
    const first = open();
    const a = agent('a');
    a.conversation.push(...turns(0, 5));
    first.saveAgent(a);
    await first.flush();
    closeClean(first);

    const second = open({ turnsLoadedAtStart: 3 });
    const [restored] = second.load().agents;
    expect(restored!.conversation).toEqual(turns(2, 5));
    restored!.conversation.push(turn(5));
    second.saveAgent(restored!);
    await second.flush();
    closeClean(second);

    expect(open({ turnsLoadedAtStart: 3 }).load().agents[0]!.conversation).toEqual(turns(3, 6));
    expect(open({ turnsLoadedAtStart: 100 }).load().agents[0]!.conversation).toEqual(turns(0, 6));
  });
});

describe('checkpoints and deletion', () => {
  const checkpoint = (path: string, n: number, conversation: TurnJson[]): Checkpoint => ({
    id: `cp-${n}`, path, timestamp: new Date(n * 1000).toISOString(), state: 'idle', turns: conversation.length,
    conversation, health: { coherence: 1, drift: 0, token_rate: 0, tokens_total: 10 * n, loops_detected: 0, last_check: null },
  });

  it('keeps checkpoints whole, in order, across a reopen', async () => {
    const store = open();
    const a = agent('a');
    store.saveAgent(a);
    store.saveCheckpoint(checkpoint('a', 1, turns(0, 2)));
    store.saveCheckpoint(checkpoint('a', 2, turns(0, 4)));
    expect(store.listCheckpoints('a').map((c) => c.id)).toEqual(['cp-1', 'cp-2']);
    await store.flush();
    const reopened = open();
    reopened.load();
    expect(reopened.listCheckpoints('a').map((c) => c.id)).toEqual(['cp-1', 'cp-2']);
    expect(reopened.loadCheckpoint('a', 'cp-2')).toEqual(checkpoint('a', 2, turns(0, 4)));
    expect(reopened.loadCheckpoint('a', 'cp-9')).toBeUndefined();
  });

  it('reads a checkpoint written with its turns as objects (before turns were kept as text) as text turns', async () => {
    const store = open();
    store.saveAgent(agent('a'));
    await store.flush();
    closeClean(store);
    const legacy = { ...checkpoint('a', 1, []), conversation: [{ role: 'user', content: 'hello' }], turns: 1 };
    const db = new Database(file);
    db.prepare('INSERT INTO checkpoints (path, id, ts, json) VALUES (?, ?, ?, ?)').run('a', 'cp-1', legacy.timestamp, JSON.stringify(legacy));
    db.close();
    const reopened = open();
    reopened.load();
    expect(reopened.loadCheckpoint('a', 'cp-1')?.conversation).toEqual([turnJson({ role: 'user', content: 'hello' })]);
  });

  it('deleting an agent removes its row, turns and checkpoints, and a new agent at the path starts empty', async () => {
    const store = open();
    const a = agent('a');
    a.conversation.push(...turns(0, 3));
    store.saveAgent(a);
    store.saveCheckpoint(checkpoint('a', 1, turns(0, 3)));
    await store.flush();
    store.deleteAgent('a');
    expect(store.listCheckpoints('a')).toEqual([]);
    const again = agent('a');
    again.conversation.push(turn(0));
    store.saveAgent(again);
    await store.flush();
    const reopened = open();
    expect(reopened.load().agents.map((x) => x.conversation)).toEqual([[turn(0)]]);
    expect(reopened.listCheckpoints('a')).toEqual([]);
  });
});

describe('events', () => {
  it('replays events of a subtree or of one agent after a cursor', async () => {
    const store = open();
    for (const path of ['a', 'a/b', 'ab', 'a/b/c', 'z', 'a']) store.appendEvent(event(path));
    await store.flush();
    const ids = (r: AgentEvent[] | 'gone') => (r === 'gone' ? r : r.map((e) => `${e.id}:${e.path}`));
    expect(ids(store.eventsSince('a', 'subtree', 0, 100))).toEqual(['1:a', '2:a/b', '4:a/b/c', '6:a']);
    expect(ids(store.eventsSince('a', 'self', 0, 100))).toEqual(['1:a', '6:a']);
    expect(ids(store.eventsSince('a', 'subtree', 2, 100))).toEqual(['4:a/b/c', '6:a']);
    expect(ids(store.eventsSince('a', 'subtree', 0, 2))).toEqual(['1:a', '2:a/b']);
  });

  it("answers an agent's recent events, oldest first, counting those still waiting for their commit", async () => {
    const store = open();
    for (let i = 0; i < 6; i++) store.appendEvent(event(i % 2 ? 'b' : 'a'));
    await store.flush();
    store.appendEvent(event('a', 'pending'));
    expect(store.recentEvents('a', 10).map((e) => e.id)).toEqual([1, 3, 5, 7]);
    expect(store.recentEvents('a', 2).map((e) => [e.id, e.type])).toEqual([[5, 'tick'], [7, 'pending']]);
    await store.flush();
    expect(store.recentEvents('a', 10).map((e) => e.id)).toEqual([1, 3, 5, 7]);
  });

  it('prunes to the retained events, and a cursor before them is gone', async () => {
    const store = open({ eventsRetained: 100 });
    const total = EVENTS_BETWEEN_PRUNES + 1;
    for (let i = 0; i < total; i++) store.appendEvent(event(i % 2 === 0 ? 'a' : 'b'));
    await store.flush();
    expect(store.eventsSince('a', 'subtree', 0, 10)).toBe('gone');
    expect(store.eventsSince('a', 'subtree', total - 101, 10)).toBe('gone');
    const recent = store.eventsSince('a', 'subtree', total - 100, 1_000);
    expect(recent).not.toBe('gone');
    const odd = Array.from({ length: 100 }, (_, i) => total - 99 + i).filter((id) => id % 2 === 1); // the events of `a`
    expect((recent as AgentEvent[]).map((e) => e.id)).toEqual(odd);

    const state = open({ eventsRetained: 100, eventsLoadedAtStart: 30 }).load();
    expect(state.firstRetainedEventId).toBe(total - 99); // the last 100 are kept
    expect(state.events.map((e) => e.id)).toEqual(Array.from({ length: 30 }, (_, i) => total - 29 + i));
    expect(state.lastEventId).toBeGreaterThanOrEqual(total);
    const reopened = open({ eventsRetained: 100 });
    expect(reopened.eventsSince('b', 'self', total - 101, 10)).toBe('gone');
    expect(reopened.eventsSince('b', 'self', total - 100, 1)).toHaveLength(1);
  });

  it('never gives out an event id twice: after an unclean stop numbering resumes past every id published', () => {
    const running = open();
    for (let i = 0; i < 5; i++) running.appendEvent(event('a'));
    // not flushed, not closed: the process dies here, with ids 1-5 already sent to SSE clients
    const state = open().load();
    expect(state.lastEventId).toBeGreaterThanOrEqual(5);
    expect(state.lastEventId).toBeLessThanOrEqual(1 + EVENT_ID_BLOCK);
    expect(state.events).toEqual([]);
  });

  it('keeps numbering without a gap after a clean close, and past the high-water mark after a crash', async () => {
    const first = open();
    for (let i = 0; i < 5; i++) first.appendEvent(event('a'));
    closeClean(first);
    const second = open();
    expect(second.load().lastEventId).toBe(5);
    nextEventId = 6;
    second.appendEvent(event('a'));
    await second.flush();
    const crashed = open().load();
    expect(crashed.lastEventId).toBe(6 + EVENT_ID_BLOCK);
    expect(crashed.firstRetainedEventId).toBe(1);
  });

  it('starts numbering at 1 on an empty database', () => {
    expect(open().load()).toMatchObject({ lastEventId: 0, firstRetainedEventId: 1, agents: [], events: [] });
  });
});

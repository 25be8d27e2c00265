import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { turnJson, type TurnJson } from '../../src/domain/agent.js';
import { EventBus } from '../../src/events/bus.js';
import { restoreTree } from '../../src/runtime/restore.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { Store } from '../../src/store/store.js';
import { specSchema } from '../../src/domain/schemas.js';
import { describeStores } from '../support/store-backends.js';

const SPEC = specSchema.parse({ goal: 'g' });

const user = (text: string): TurnJson => turnJson({ role: 'user', content: [{ type: 'text', text }] });
const assistant = (text: string): TurnJson => turnJson({ role: 'assistant', content: [{ type: 'text', text }] });
const toolUse = (id: string): TurnJson => turnJson({ role: 'assistant', content: [{ type: 'tool_use', id, name: 'list_children', input: {} }] });
const toolResult = (id: string): TurnJson => turnJson({ role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: '[]' }] });

async function allRows(runtime: Runtime, path: string) {
  return runtime.history(path, { limit: 10_000, order: 'asc' });
}

/** The history model through the real runtime and store: what a restarted daemon rebuilds, and what is kept. */
describeStores('the conversation store', (backend) => {
  /** A runtime on the database, the tree restored from it (as the daemon starts). */
  async function boot(): Promise<{ runtime: Runtime; store: Store }> {
    const store = await backend().open({ eventsLoadedAtStart: 1_000 });
    const bus = new EventBus();
    bus.addSink((event) => store.appendEvent(event));
    const runtime = new Runtime({ bus, store });
    restoreTree(runtime, await store.load());
    return { runtime, store };
  }

  it('a restart rebuilds exactly the context: summary, recent turns, a pending tool result and the inbox', async () => {
    const first = await boot();
    const a = first.runtime.spawn(null, { id: 'a', spec: SPEC });
    first.runtime.appendTurns(a, user('start'), assistant('one'), user('two'), assistant('three'));
    first.runtime.compactConversation(a, user('SUMMARY of start..one'), 2, { tokens_before: 100 });
    first.runtime.appendTurns(a, toolUse('t1'), toolResult('t1'));
    first.runtime.message('a', { content: 'waiting message' });
    const context = [...a.conversation];
    expect(context[0]).toBe(user('SUMMARY of start..one'));
    await first.store.flush();
    // killed here: no close

    const second = await boot();
    const restored = second.runtime.get('a');
    expect(restored.conversation.toArray()).toEqual(context);
    expect(restored.inbox).toEqual([expect.objectContaining({ kind: 'message', content: 'waiting message' })]);
    const rows = await allRows(second.runtime, 'a');
    expect(rows.map((r) => r.kind)).toEqual(['turn', 'turn', 'turn', 'turn', 'summary', 'turn', 'turn']); // nothing lost
    expect((await second.store.recentEvents('a', 50)).find((e) => e.type === 'compacted')?.data).toMatchObject({ tokens_before: 100 });
  });

  it('the inbox taken into a turn leaves the store with that turn, in one commit', async () => {
    const first = await boot();
    const a = first.runtime.spawn(null, { id: 'a', spec: SPEC });
    first.runtime.message('a', { content: 'hello' });
    await first.store.flush();
    const items = first.runtime.takeInbox(a);
    first.runtime.appendTurns(a, user(`carrying ${items.length}`));
    await first.store.flush();
    const restored = (await boot()).runtime.get('a');
    expect(restored.inbox).toEqual([]);
    expect(restored.conversation.toArray()).toEqual([user('carrying 1')]);
  });

  it('a long life keeps memory to the compacted context, and the compacted turns stay on disk', async () => {
    const { runtime, store } = await boot();
    const a = runtime.spawn(null, { id: 'a', spec: SPEC });
    for (let i = 0; i < 200; i++) runtime.appendTurns(a, user(`q${i}`), assistant(`a${i}`));
    runtime.compactConversation(a, user('[Summary of the earlier conversation] q0..q189'), 380, {});
    expect(a.conversation.toArray()).toHaveLength(21);
    await store.flush();
    expect(await allRows(runtime, 'a')).toHaveLength(401); // every turn, plus the summary row
    const restored = (await boot()).runtime.get('a');
    expect(restored.conversation.toArray()).toEqual(a.conversation.toArray());
  });

  it('restart from a checkpoint and fork append its context as new rows; a checkpoint after the restart is complete', async () => {
    const first = await boot();
    const a = first.runtime.spawn(null, { id: 'a', spec: SPEC });
    first.runtime.appendTurns(a, user('u1'), assistant('a1'));
    first.runtime.compactConversation(a, user('S'), 1, {});
    first.runtime.appendTurns(a, user('u2'));
    const cp = first.runtime.checkpoint('a');
    first.runtime.appendTurns(a, assistant('after checkpoint'));
    await first.runtime.restart('a');
    expect(a.conversation.toArray()).toEqual([user('S'), assistant('a1'), user('u2')]);
    const fork = await first.runtime.fork('a', { id: 'b', checkpoint: cp.id });
    expect(fork.conversation.toArray()).toEqual(a.conversation.toArray());
    first.runtime.checkpoint('a');
    await first.store.flush();

    const second = await boot();
    const restored = second.runtime.get('a');
    expect(restored.conversation.toArray()).toEqual([user('S'), assistant('a1'), user('u2')]);
    await second.runtime.restart('a'); // from cp-2, taken after the first restart
    expect(restored.conversation.toArray()).toEqual([user('S'), assistant('a1'), user('u2')]);
    expect(second.runtime.get('b').conversation.toArray()).toEqual([user('S'), assistant('a1'), user('u2')]);
    const rows = await allRows(second.runtime, 'a');
    expect(rows.filter((r) => r.json === assistant('after checkpoint'))).toHaveLength(1); // never rewritten shorter
    const upToCp1 = await second.runtime.history('a', { limit: 100, order: 'asc' }, 'cp-1');
    expect(upToCp1.map((r) => r.json)).toEqual([user('u1'), assistant('a1'), user('S'), user('u2')]);
  });

  it('an agent row costs the same however full its inbox is', async () => {
    const { runtime, store } = await boot();
    const a = runtime.spawn(null, { id: 'a', spec: SPEC });
    for (let i = 0; i < 100; i++) runtime.message('a', { content: 'x'.repeat(10_000) });
    await store.flush();
    const size = await backend().scalar('SELECT length(json) AS size FROM agents WHERE path = ?', ['a']);
    const n = await backend().scalar('SELECT COUNT(*) AS n FROM inbox WHERE path = ?', ['a']);
    expect(size).toBeLessThan(2_000);
    expect(n).toBe(100);
    expect(a.inbox).toHaveLength(100);
  });

  it('opens a database of the previous version: inbox out of the agent row, the latest turns as the context (SQLite only: skipped on PostgreSQL, which had no previous version)', async (context) => {
    if (backend().name !== 'sqlite') return context.skip(); // a SQLite file of the previous version; PostgreSQL had none
    mkdirSync(dirname(backend().file!), { recursive: true });
    const db = new Database(backend().file!);
    db.exec(`CREATE TABLE agents (path TEXT PRIMARY KEY, json TEXT NOT NULL);
      CREATE TABLE turns (path TEXT NOT NULL, seq INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (path, seq));
      CREATE TABLE meta (key TEXT PRIMARY KEY, value);`);
    const old = {
      id: 'old', path: 'old', parentPath: null, depth: 0, state: 'idle', spec: { goal: 'g', model: 'm', tools: [], schedule: null },
      policy: {}, health: {}, createdAtMs: 1, startedAtMs: 1, restartCount: 0, checkpointCount: 0, suspendReason: null,
      errorMessage: null, forkedFrom: null, stoppedAtMs: null, restartAtMs: null, conversationEpoch: 2, turnCount: 1,
      recentToolCalls: [], loopWarnings: 0, tokenSamples: [], inbox: [{ kind: 'message', content: 'kept' }],
    };
    db.prepare('INSERT INTO agents (path, json) VALUES (?, ?)').run('old', JSON.stringify(old));
    db.prepare('INSERT INTO turns (path, seq, json) VALUES (?, ?, ?), (?, ?, ?)').run('old', 0, user('u'), 'old', 1, assistant('a'));
    db.close();
    const { runtime } = await boot();
    const agent = runtime.get('old');
    expect(agent.inbox).toEqual([{ kind: 'message', content: 'kept' }]);
    expect(agent.conversation.toArray()).toEqual([user('u'), assistant('a')]);
    runtime.appendTurns(agent, user('next'));
    await runtime.store.flush();
    expect((await allRows(runtime, 'old')).map((r) => r.seq)).toEqual([0, 1, 2]); // appended after the old turns
  });
});

import { renameSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newAgentRecord, turnJson, type AgentRecord, type Checkpoint } from '../../src/domain/agent.js';
import { policySchema, specSchema } from '../../src/domain/schemas.js';
import { COMMIT_RETRY_MAX_MS, COMMIT_RETRY_MIN_MS, SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite-store.js';

const OPTIONS: SqliteStoreOptions = { eventsRetained: 1_000_000, eventsLoadedAtStart: 50_000 };

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


/** What only the SQLite store does; the behaviour both stores share is proven on both in store.test.ts. */
describe('SQLite specifics', () => {
  it('a failed commit rejects every waiter, keeps its batch and retries it until it is on disk', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const store = open();
      store.saveAgent(agent('a'));
      await store.flush();
      renameSync(file, `${file}.away`); // the database file is gone
      store.saveAgent(agent('b'));
      await expect(store.flush()).rejects.toThrow(/will be written when the store recovers/);
      expect(store.isHealthy()).toBe(false);
      expect(() => store.assertWritable()).toThrow(/nothing was changed/);
      await vi.advanceTimersByTimeAsync(COMMIT_RETRY_MIN_MS); // still gone: retried and failed again
      expect(store.problem()).toMatch(/removed or replaced/);
      renameSync(`${file}.away`, file); // back (the same file)
      await vi.advanceTimersByTimeAsync(COMMIT_RETRY_MAX_MS);
      expect(store.isHealthy()).toBe(true);
      expect((await open().load()).agents.map((x) => x.path)).toEqual(['a', 'b']);
    } finally {
      vi.useRealTimers();
    }
  });

  const checkpoint = (path: string, n: number, toSeq: number): Checkpoint => ({
    id: `cp-${n}`, path, timestamp: new Date(n * 1000).toISOString(), state: 'idle', turns: toSeq,
    context: { summarySeq: null, fromSeq: 0, toSeq },
    health: { coherence: 1, drift: 0, token_rate: 0, tokens_total: 10 * n, loops_detected: 0, last_check: null },
  });

  it('reads a checkpoint written with its turns inline as objects (two versions ago) as text turns', async () => {
    const store = open();
    store.saveAgent(agent('a'));
    await store.flush();
    closeClean(store);
    const { context: _context, ...legacy } = { ...checkpoint('a', 1, 0), conversation: [{ role: 'user', content: 'hello' }], turns: 1 };
    const db = new Database(file);
    db.prepare('INSERT INTO checkpoints (path, id, ts, json) VALUES (?, ?, ?, ?)').run('a', 'cp-1', legacy.timestamp, JSON.stringify(legacy));
    db.close();
    const reopened = open();
    await reopened.load();
    const cp = await reopened.loadCheckpoint('a', 'cp-1');
    expect((await reopened.checkpointContext(cp!)).map((r) => r.json)).toEqual([turnJson({ role: 'user', content: 'hello' })]);
  });
});

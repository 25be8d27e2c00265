import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newAgentRecord } from '../../src/domain/agent.js';
import { policySchema, specSchema } from '../../src/domain/schemas.js';
import { EventBus } from '../../src/events/bus.js';
import { replaySince } from '../../src/events/replay.js';
import { restoreTree } from '../../src/runtime/restore.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { EVENTS_BETWEEN_PRUNES, SqliteStore } from '../../src/store/sqlite-store.js';
import { api, startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { dataOf, openSse } from '../support/sse-client.js';

/**
 * Last-Event-ID against a database whose old events were pruned: the daemon starts on a database written with a
 * small retention, and a client reconnects with cursors inside and before what is kept.
 */
const RETAINED = 100;
const TOTAL = EVENTS_BETWEEN_PRUNES + 1;

let dir: string;
let d: TestDaemon | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auton-replay-'));
  const store = new SqliteStore(join(dir, 'auton.db'), { eventsRetained: RETAINED, eventsLoadedAtStart: 10 });
  const agent = newAgentRecord({ id: 'r', parentPath: null, depth: 0, spec: specSchema.parse({ goal: 'g' }), policy: policySchema.parse({}), nowMs: 0 });
  agent.state = 'suspended';
  agent.suspendReason = 'manual';
  store.saveAgent(agent);
  for (let id = 1; id <= TOTAL; id++) store.appendEvent({ id, path: 'r', type: 'note', timestamp: new Date(id).toISOString(), data: { n: id } });
  await store.flush();
  store.close();
});
afterEach(async () => {
  await d?.close();
  d = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('Last-Event-ID after a restart, against what the store retained', () => {
  beforeEach(async () => {
    d = await startTestDaemon({ AUTON_DB: join(dir, 'auton.db') });
  });

  it('sends a reset event to a cursor older than the retained events', async () => {
    const stream = await openSse(`${d!.url}/agents/r/log`, { lastEventId: '5' });
    const reset = await stream.next('reset');
    expect(dataOf(reset).oldest_id).toBe(TOTAL - RETAINED + 1);
    expect(stream.events.filter((e) => e.event === 'note')).toEqual([]);
    stream.close();
  });

  it('replays the retained events after a cursor within them', async () => {
    const cursor = TOTAL - 50;
    const stream = await openSse(`${d!.url}/agents/r/log`, { lastEventId: String(cursor) });
    await stream.next((e) => e.id === String(TOTAL));
    const ids = stream.events.filter((e) => e.id !== undefined).map((e) => Number(e.id));
    expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => cursor + 1 + i));
    stream.close();
  });

  it('numbers new events after the stored ones', async () => {
    const stream = await openSse(`${d!.url}/agents/r/log`, { lastEventId: String(TOTAL) });
    expect((await api(d!.url).post('/agents/r/resume')).status).toBe(200);
    const next = await stream.next('state_change');
    expect(Number(next.id)).toBe(TOTAL + 1);
    stream.close();
  });
});

describe('restoring the event history', () => {
  it('answers a cursor older than the events loaded into memory from the store, not with a partial replay', async () => {
    const store = new SqliteStore(join(dir, 'auton.db'), { eventsRetained: 1_000_000, eventsLoadedAtStart: 10 });
    try {
      const runtime = new Runtime({ bus: new EventBus(), store });
      restoreTree(runtime, await store.load());
      const replay = await replaySince(runtime.bus, store, 'r', 'self', TOTAL - RETAINED);
      expect(replay.kind).toBe('events');
      const ids = replay.kind === 'events' ? replay.events.map((e) => e.id) : [];
      expect(ids).toEqual(Array.from({ length: RETAINED }, (_, i) => TOTAL - RETAINED + 1 + i));
      expect(await replaySince(runtime.bus, store, 'r', 'self', 5)).toMatchObject({ kind: 'reset' });
    } finally {
      store.close();
    }
  });
});

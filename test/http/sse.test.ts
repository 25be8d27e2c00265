import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LIMITS } from '../../src/domain/limits.js';
import { api, manualClock, spawnAgent, startTestDaemon, type Api, type ErrorBody, type TestDaemon } from '../support/daemon.js';
import { dataOf, openSse, type ParsedEvent, type SseConnection } from '../support/sse-client.js';

let d: TestDaemon;
let http: Api;
let clock: ReturnType<typeof manualClock>;
const streams: SseConnection[] = [];

/** Opens `/agents/{path}/{kind}`, closed after the test. */
async function follow(kind: 'observe' | 'log', path: string, lastEventId?: string): Promise<SseConnection> {
  const stream = await openSse(`${d.url}/agents/${path}/${kind}`, lastEventId === undefined ? {} : { lastEventId });
  streams.push(stream);
  return stream;
}
const observe = (path: string, lastEventId?: string) => follow('observe', path, lastEventId);
const log = (path: string, lastEventId?: string) => follow('log', path, lastEventId);

/** Sends a message to `path` and waits for `stream` to show it: everything before it on the stream has arrived. */
async function mark(stream: SseConnection, path: string, content: string): Promise<ParsedEvent> {
  expect((await http.post(`/agents/${path}/message`, { content })).status).toBe(200);
  return stream.next((e) => e.event === 'message' && dataOf(e).content === content);
}

/** The events of `stream` strictly between two events, as `type path` strings. */
function between(stream: SseConnection, after: ParsedEvent | undefined, before: ParsedEvent): string[] {
  const from = after ? stream.events.indexOf(after) + 1 : 0;
  return stream.events.slice(from, stream.events.indexOf(before)).map((e) => `${e.event} ${String(dataOf(e).path)}`);
}

beforeEach(async () => {
  clock = manualClock();
  d = await startTestDaemon({}, { clock: clock.now });
  http = api(d.url);
});
afterEach(async () => {
  vi.useRealTimers();
  for (const stream of streams.splice(0)) stream.close();
  await d.close();
});

describe('GET /agents/{path}/observe', () => {
  it('opens an event stream whose first event is the health of the agent', async () => {
    await spawnAgent(http, null, 'r');
    const stream = await observe('r');
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(stream.headers['cache-control']).toContain('no-cache');
    const first = await stream.next(() => true);
    expect(first.event).toBe('health');
    expect(first.data).toMatchObject({ path: 'r', coherence: 1, drift: 0, tokens_total: 0 });
    expect(stream.events[0]).toBe(first);
  });

  it('streams the events of the agent and its descendants, each with an id, its type and JSON {type, path, timestamp}', async () => {
    await spawnAgent(http, null, 'r');
    await spawnAgent(http, null, 'rx'); // shares a prefix, is not a descendant
    const stream = await observe('r');
    await spawnAgent(http, 'r', 'c');
    await http.post('/agents/r/c/suspend');
    await http.post('/agents/rx/suspend');
    await http.post('/agents/r/suspend');
    const last = await stream.next((e) => e.event === 'suspended' && dataOf(e).path === 'r');
    const events = stream.events.slice(1, stream.events.indexOf(last) + 1);
    expect(events.map((e) => `${e.event} ${String(dataOf(e).path)}`)).toEqual([
      'spawned r/c', 'state_change r/c', 'state_change r/c', 'suspended r/c', 'state_change r', 'suspended r',
    ]);
    let previousId = 0;
    for (const event of events) {
      const data = dataOf(event);
      expect(data.type).toBe(event.event);
      expect(typeof data.path).toBe('string');
      expect(data.timestamp).toBe(new Date(clock.now()).toISOString());
      expect(event.id).toMatch(/^\d+$/);
      expect(data.id).toBe(Number(event.id));
      expect(Number(event.id)).toBeGreaterThan(previousId);
      previousId = Number(event.id);
    }
  });

  it("does not stream a parent's events to an observer of its child", async () => {
    await spawnAgent(http, null, 'r');
    await spawnAgent(http, 'r', 'c');
    const stream = await observe('r/c');
    await http.post('/agents/r/message', { content: 'for the parent' });
    const marker = await mark(stream, 'r/c', 'for the child');
    expect(between(stream, stream.events[0], marker)).toEqual([]);
  });

  it('replays exactly the missed events of the subtree on reconnect with Last-Event-ID', async () => {
    await spawnAgent(http, null, 'r');
    await spawnAgent(http, null, 'other');
    const witness = await observe('r'); // stays connected throughout
    const first = await observe('r');
    await spawnAgent(http, 'r', 'c');
    const seen = await mark(first, 'r', 'before the gap');
    first.close();
    // Missed while disconnected: some in the subtree, some outside it.
    await http.post('/agents/r/c/suspend');
    await http.post('/agents/other/message', { content: 'elsewhere' });
    await http.patch('/agents/r', { guidance: 'steer' });
    await http.delete('/agents/r/c');

    const again = await observe('r', first.lastEventId);
    expect(first.lastEventId).toBe(seen.id);
    expect((await again.next(() => true)).event).toBe('health');
    const marker = await mark(again, 'r', 'after the gap');
    const witnessSeen = witness.events.find((e) => e.id === seen.id);
    const witnessMarker = await witness.next((e) => e.id === marker.id);
    const missed = between(witness, witnessSeen, witnessMarker);
    expect(missed.length).toBeGreaterThan(4);
    expect(between(again, again.events[0], marker)).toEqual(missed);
    expect(missed.some((e) => e.endsWith(' other'))).toBe(false);
  });

  it('answers a Last-Event-ID this daemon never gave with reset, then streams live events', async () => {
    await spawnAgent(http, null, 'r');
    const stream = await observe('r', String(d.daemon.runtime.bus.lastId + 1_000));
    await stream.next('health');
    expect((await stream.next(() => true)).event).toBe('reset');
    await mark(stream, 'r', 'live');
  });

  it('refuses a Last-Event-ID that is not an event id with a 400', async () => {
    await spawnAgent(http, null, 'r');
    const stream = await openSse(`${d.url}/agents/r/observe`, { lastEventId: 'yesterday' });
    expect(stream.status).toBe(400);
    expect((stream.body as ErrorBody).message).toContain('Last-Event-ID');
  });

  it('answers an unknown agent with a 404 JSON body, not a stream', async () => {
    const stream = await openSse(`${d.url}/agents/ghost/observe`);
    expect(stream.status).toBe(404);
    expect(stream.headers['content-type']).toMatch(/^application\/json/);
    expect(stream.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'agent ghost not found' });
  });

  it('observes a nested agent written with / or %2F', async () => {
    await spawnAgent(http, null, 'r');
    await spawnAgent(http, 'r', 'c');
    for (const path of ['r/c', 'r%2Fc']) {
      const stream = await observe(path);
      expect((await stream.next('health')).data).toMatchObject({ path: 'r/c' });
    }
  });

  it('unsubscribes a client that disconnects', async () => {
    await spawnAgent(http, null, 'r');
    const stream = await observe('r');
    await stream.next('health');
    expect(d.daemon.runtime.bus.subscriberCount()).toBe(1);
    stream.close();
    await vi.waitFor(() => expect(d.daemon.runtime.bus.subscriberCount()).toBe(0));
  });

  it('ends the /observe and /log streams of a purged agent after its purged event, and a reconnect is a 404', async () => {
    await spawnAgent(http, null, 'r');
    await spawnAgent(http, null, 'keep');
    const observer = await observe('r');
    const logger = await log('r');
    const bystander = await observe('keep');
    await http.delete('/agents/r?purge=true');
    await Promise.all([observer.untilEnded(), logger.untilEnded()]);
    expect(observer.events.at(-1)?.event).toBe('purged');
    expect(logger.events.some((e) => e.event === 'terminated')).toBe(true);
    expect((await openSse(`${d.url}/agents/r/observe`)).status).toBe(404);
    await mark(bystander, 'keep', 'still here');
  });

  it('keeps observing a parent whose child was purged', async () => {
    await spawnAgent(http, null, 'r');
    await spawnAgent(http, 'r', 'c');
    const stream = await observe('r');
    await http.delete('/agents/r/c?purge=true');
    await stream.next((e) => e.event === 'purged' && dataOf(e).path === 'r/c');
    await mark(stream, 'r', 'still observing');
  });

  it('ends open streams when the daemon closes', async () => {
    await spawnAgent(http, null, 'r');
    const stream = await observe('r');
    await stream.next('health');
    await d.daemon.close();
    await stream.untilEnded();
    expect(d.daemon.runtime.bus.subscriberCount()).toBe(0);
  });
});

describe('heartbeats on /observe', () => {
  beforeEach(() => {
    // Only intervals are faked: sockets, setImmediate (the store) and timeouts stay real.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  });

  it('sends a heartbeat with health and the latest oversight events every AUTON_HEARTBEAT_MS (30 s by default)', async () => {
    await spawnAgent(http, null, 'r');
    const stream = await observe('r');
    await stream.next('health');
    vi.advanceTimersByTime(29_999);
    const marker = await mark(stream, 'r', 'not yet');
    expect(stream.events.some((e) => e.event === 'heartbeat')).toBe(false);
    vi.advanceTimersByTime(1);
    const beat = await stream.next('heartbeat');
    expect(stream.events.indexOf(beat)).toBeGreaterThan(stream.events.indexOf(marker));
    expect(beat.data).toMatchObject({ path: 'r', health: { coherence: 1 }, events: [], timestamp: new Date(clock.now()).toISOString() });
    vi.advanceTimersByTime(30_000);
    await stream.next('heartbeat');
  });

  it('includes the findings of the latest oversight pass in the heartbeat', async () => {
    await spawnAgent(http, null, 'r', { policy: { budget: { max_runtime_seconds: 10 } } });
    const stream = await observe('r');
    clock.advance(11_000);
    await http.post('/oversight/check');
    vi.advanceTimersByTime(30_000);
    const beat = await stream.next('heartbeat');
    expect(beat.data).toMatchObject({ state: 'suspended', events: [{ path: 'r', kind: 'runtime', action: 'suspend' }] });
  });

  it('sends heartbeats at the AUTON_HEARTBEAT_MS interval', async () => {
    await d.close();
    d = await startTestDaemon({ AUTON_HEARTBEAT_MS: '1000' }, { clock: clock.now });
    http = api(d.url);
    await spawnAgent(http, null, 'r');
    const stream = await observe('r');
    await stream.next('health');
    vi.advanceTimersByTime(1_000);
    await stream.next('heartbeat');
  });
});

describe('GET /agents/{path}/log', () => {
  it("replays the agent's own past entries, then streams new ones", async () => {
    await spawnAgent(http, null, 'r');
    await spawnAgent(http, 'r', 'c');
    await http.post('/agents/r/message', { content: 'earlier' });
    const stream = await log('r');
    const marker = await mark(stream, 'r', 'now');
    expect(between(stream, undefined, marker)).toEqual(['spawned r', 'state_change r', 'message r']);
    expect(dataOf(stream.events[2]!).content).toBe('earlier');
    expect(stream.events.every((e) => e.id !== undefined)).toBe(true);
  });

  it("does not stream a child's events on its parent's log", async () => {
    await spawnAgent(http, null, 'r');
    const stream = await log('r');
    await spawnAgent(http, 'r', 'c');
    await http.post('/agents/r/c/suspend');
    const marker = await mark(stream, 'r', 'marker');
    expect(between(stream, stream.events[1], marker)).toEqual([]);
  });

  it('replays only what came after Last-Event-ID', async () => {
    await spawnAgent(http, null, 'r');
    const first = await log('r');
    const seen = await mark(first, 'r', 'seen');
    first.close();
    await http.post('/agents/r/suspend');
    const again = await log('r', seen.id);
    const marker = await mark(again, 'r', 'after');
    expect(between(again, undefined, marker)).toEqual(['state_change r', 'suspended r']);
  });

  it('answers an unknown agent with a 404 JSON body', async () => {
    const stream = await openSse(`${d.url}/agents/ghost/log`);
    expect(stream.status).toBe(404);
    expect((stream.body as ErrorBody).message).toContain('ghost');
  });
});

describe('a slow client', () => {
  it('never holds up other clients or the daemon; past its queue limit its stream is closed', async () => {
    await spawnAgent(http, null, 'r');
    const normal = await observe('r');
    await normal.next('health');
    const slow: Socket = connect(Number(new URL(d.url).port), '127.0.0.1');
    await new Promise<void>((resolve) => slow.once('connect', resolve));
    slow.pause(); // never reads: the daemon's writes to it back up
    slow.write('GET /agents/r/observe HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    await vi.waitFor(() => expect(d.daemon.runtime.bus.subscriberCount()).toBe(2));

    const blob = 'x'.repeat(1_000);
    const batch = 500;
    let seq = 0;
    for (let round = 0; round < 60 && d.daemon.runtime.bus.subscriberCount() === 2; round++) {
      for (let i = 0; i < batch; i++) d.daemon.runtime.bus.publish('r', 'flood', { seq: ++seq, blob });
      await normal.next((e) => e.event === 'flood' && dataOf(e).seq === seq, 5_000);
      expect((await http.get('/healthz')).status).toBe(200);
    }
    expect(d.daemon.runtime.bus.subscriberCount()).toBe(1);
    expect(seq).toBeGreaterThan(LIMITS.sseClientQueueEvents); // closed for its full queue, not for anything else
    const seqs = normal.events.filter((e) => e.event === 'flood').map((e) => dataOf(e).seq);
    expect(seqs).toHaveLength(seq);
    expect(seqs.every((s, i) => s === i + 1)).toBe(true);
    slow.destroy();
  });
});

import { describe, expect, it } from 'vitest';
import { EventBus, sseFrame } from '../../src/events/bus.js';
import { EventHistory } from '../../src/events/history.js';
import { inScope, type AgentEvent, type EventScope } from '../../src/events/types.js';
import { SseParser, type ParsedEvent } from '../support/sse-client.js';

function collect(bus: EventBus, path: string, scope: EventScope) {
  const got: AgentEvent[] = [];
  const unsubscribe = bus.subscribe(path, { scope, deliver: (event) => got.push(event) });
  return { got, unsubscribe, paths: () => got.map((e) => e.path) };
}

describe('the event bus', () => {
  it('delivers an agent and its descendants to a subtree subscriber, never a sibling sharing a prefix', () => {
    const bus = new EventBus();
    const sub = collect(bus, 'a', 'subtree');
    for (const path of ['a', 'a/b', 'a/b/c', 'ab', 'ab/c', 'b', 'b/a']) bus.publish(path, 'x');
    expect(sub.paths()).toEqual(['a', 'a/b', 'a/b/c']);
  });

  it("delivers only the agent's own events to a self subscriber", () => {
    const bus = new EventBus();
    const sub = collect(bus, 'a/b', 'self');
    for (const path of ['a', 'a/b', 'a/b/c']) bus.publish(path, 'x');
    expect(sub.paths()).toEqual(['a/b']);
  });

  it('numbers events 1, 2, 3 … stamped with the injected clock, and continues after restored ids', () => {
    const bus = new EventBus(() => Date.UTC(2025, 0, 2));
    expect(bus.publish('a', 'x')).toMatchObject({ id: 1, timestamp: '2025-01-02T00:00:00.000Z' });
    expect(bus.publish('a', 'x').id).toBe(2);
    bus.resumeAfter(41);
    expect(bus.publish('a', 'x').id).toBe(42);
    bus.resumeAfter(10);
    expect(bus.publish('a', 'x').id).toBe(43);
  });

  it('stops delivering after unsubscribe and counts subscribers', () => {
    const bus = new EventBus();
    const one = collect(bus, 'a', 'subtree');
    const two = collect(bus, 'a', 'self');
    expect(bus.subscriberCount()).toBe(2);
    one.unsubscribe();
    bus.publish('a', 'x');
    expect(one.got).toHaveLength(0);
    expect(two.got).toHaveLength(1);
    two.unsubscribe();
    expect(bus.subscriberCount()).toBe(0);
  });

  it('passes every sink each event in order', () => {
    const bus = new EventBus();
    const seen: number[] = [];
    bus.addSink((event) => seen.push(event.id));
    bus.publish('a', 'x');
    bus.publish('b', 'y');
    expect(seen).toEqual([1, 2]);
  });

  it('encodes an event as one SSE frame whose data is {…data, type, path, timestamp, id}', () => {
    const bus = new EventBus(() => 0);
    let wire = '';
    bus.subscribe('a', { scope: 'self', deliver: (_e, w) => (wire = w) });
    const event = bus.publish('a', 'message', { content: 'two\nlines', type: 'spoofed' });
    expect(wire).toBe(sseFrame(event));
    const parsed: ParsedEvent[] = [];
    new SseParser((e) => parsed.push(e)).push(wire);
    expect(parsed).toEqual([{
      id: '1', event: 'message',
      data: { content: 'two\nlines', type: 'message', path: 'a', timestamp: '1970-01-01T00:00:00.000Z', id: 1 },
    }]);
  });
});

describe('inScope', () => {
  it.each([
    ['a', 'a', 'self', true], ['a/b', 'a', 'self', false],
    ['a', 'a', 'subtree', true], ['a/b', 'a', 'subtree', true], ['a/b/c', 'a', 'subtree', true],
    ['ab', 'a', 'subtree', false], ['a', 'a/b', 'subtree', false], ['b', 'a', 'subtree', false],
  ] as const)('%s in %s (%s): %s', (eventPath, path, scope, expected) => {
    expect(inScope(eventPath, path, scope)).toBe(expected);
  });
});

describe('the event history', () => {
  const event = (id: number, path = 'a'): AgentEvent => ({ id, path, type: 't', timestamp: '', data: {} });

  it('replays the events after a cursor in scope, oldest first', () => {
    const history = new EventHistory(10);
    [event(1), event(2, 'a/b'), event(3, 'c'), event(4)].forEach((e) => history.add(e));
    const replay = history.since('a', 'subtree', 1);
    expect(replay.kind === 'events' && replay.events.map((e) => e.id)).toEqual([2, 4]);
  });

  it('answers reset when events after the cursor have left the ring', () => {
    const history = new EventHistory(3);
    for (let id = 1; id <= 5; id++) history.add(event(id));
    expect(history.since('a', 'subtree', 1)).toEqual({ kind: 'reset', oldestId: 3 });
    const replay = history.since('a', 'subtree', 2);
    expect(replay.kind === 'events' && replay.events.map((e) => e.id)).toEqual([3, 4, 5]);
  });

  it('17.10a: is bounded in bytes too: big events push old ones out, and a cursor before them gets reset', () => {
    const big = (id: number): AgentEvent => ({ id, path: 'a', type: 'message', timestamp: '', data: { content: 'x'.repeat(100_000) } });
    const history = new EventHistory(50_000, 1_000_000);
    for (let id = 1; id <= 100; id++) history.add(big(id));
    const { events, bytes } = history.held;
    expect(bytes).toBeLessThanOrEqual(1_000_000);
    expect(events).toBe(9); // 9 × ~100 KB fit in 1 MB, not 100 (the count bound alone would keep them all)
    expect(history.since('a', 'self', 0)).toEqual({ kind: 'reset', oldestId: 92 });
    const replay = history.since('a', 'self', 91);
    expect(replay.kind === 'events' && replay.events.map((e) => e.id)).toEqual([92, 93, 94, 95, 96, 97, 98, 99, 100]);
  });

  it('17.10a: keeps the newest event even when it alone is over the byte bound, and stays correct across compactions', () => {
    const history = new EventHistory(3, 10);
    for (let id = 1; id <= 5_000; id++) history.add(event(id));
    expect(history.held.events).toBe(1);
    const replay = history.since('a', 'subtree', 4_999);
    expect(replay.kind === 'events' && replay.events.map((e) => e.id)).toEqual([5_000]);
    const counted = new EventHistory(3);
    for (let id = 1; id <= 5_000; id++) counted.add(event(id));
    const last = counted.since('a', 'subtree', 4_997);
    expect(last.kind === 'events' && last.events.map((e) => e.id)).toEqual([4_998, 4_999, 5_000]);
  });
});

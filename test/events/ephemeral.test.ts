import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/events/bus.js';
import type { AgentEvent, EventScope } from '../../src/events/types.js';
import { SseParser, type ParsedEvent } from '../support/sse-client.js';

function listen(bus: EventBus, path: string, scope: EventScope, ephemeral: boolean) {
  const durable: AgentEvent[] = [];
  const frames: string[] = [];
  const unsubscribe = bus.subscribe(path, { scope, deliver: (e) => durable.push(e), ...(ephemeral ? { ephemeral: (wire: string) => frames.push(wire) } : {}) });
  return { durable, frames, unsubscribe };
}

describe('ephemeral events (live tokens)', () => {
  it('reach only subscribers that take them, in scope, as an SSE frame without an id', () => {
    const bus = new EventBus();
    const tree = listen(bus, 'a', 'subtree', true);
    const own = listen(bus, 'a', 'self', true);
    const plain = listen(bus, 'a', 'subtree', false);
    bus.publishEphemeral('a/b', 'token', { path: 'a/b', text: 'Hel' });
    bus.publishEphemeral('a', 'token', { path: 'a', text: 'lo' });
    expect(tree.frames).toHaveLength(2);
    expect(own.frames).toEqual([tree.frames[1]]);
    expect(plain.frames).toEqual([]);
    const parsed: ParsedEvent[] = [];
    const parser = new SseParser((e) => parsed.push(e));
    for (const frame of tree.frames) parser.push(frame);
    expect(parsed).toEqual([{ event: 'token', data: { path: 'a/b', text: 'Hel' } }, { event: 'token', data: { path: 'a', text: 'lo' } }]);
  });

  it('take no id, are kept in no history and reach no sink', () => {
    const bus = new EventBus();
    const stored: AgentEvent[] = [];
    bus.addSink((e) => stored.push(e));
    const sub = listen(bus, 'a', 'subtree', true);
    bus.publish('a', 'spawned');
    bus.publishEphemeral('a', 'token', { path: 'a', text: 'x' });
    const next = bus.publish('a', 'model_call');
    expect(next.id).toBe(2);
    expect(stored.map((e) => e.type)).toEqual(['spawned', 'model_call']);
    const replay = bus.history.since('a', 'subtree', 0);
    expect(replay.kind === 'events' && replay.events.map((e) => e.type)).toEqual(['spawned', 'model_call']);
    expect(sub.durable.map((e) => e.type)).toEqual(['spawned', 'model_call']);
    expect(sub.frames).toHaveLength(1);
  });

  it('go nowhere once their subscriber leaves, even when it unsubscribes twice', () => {
    const bus = new EventBus();
    const first = listen(bus, 'a', 'subtree', true);
    const second = listen(bus, 'a', 'subtree', true);
    first.unsubscribe();
    first.unsubscribe();
    bus.publishEphemeral('a', 'token', { text: 'x' });
    expect(first.frames).toEqual([]);
    expect(second.frames).toHaveLength(1);
  });
});

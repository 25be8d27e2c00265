import { LIMITS } from '../domain/limits.js';
import { inScope, type AgentEvent, type EventScope } from './types.js';

/** What a reconnecting client may need: the events after a cursor, or word that the cursor is too old. */
export type Replay = { kind: 'events'; events: AgentEvent[] } | { kind: 'reset'; oldestId: number };

/**
 * Recent events in memory, one ring for cursor replay across all streams; a durable store keeps more. `/log`
 * reads the store, which also answers for events still waiting for their commit, so nothing is kept per agent.
 */
export class EventHistory {
  private ring: AgentEvent[] = [];
  private start = 0; // index of the oldest event in `ring` once it has wrapped
  /** The id of the oldest event ever dropped from the ring + 1; a cursor below it has missed events. */
  private firstRetainedId = 1;

  constructor(private readonly ringSize: number = LIMITS.replayBufferEvents) {}

  add(event: AgentEvent): void {
    if (this.ring.length < this.ringSize) this.ring.push(event);
    else {
      this.firstRetainedId = this.ring[this.start]!.id + 1;
      this.ring[this.start] = event;
      this.start = (this.start + 1) % this.ringSize;
    }
  }

  /** Seeds the history (used when the store reloads it at start). */
  restore(events: AgentEvent[], firstRetainedId: number): void {
    for (const event of events) this.add(event);
    this.firstRetainedId = Math.max(this.firstRetainedId, firstRetainedId);
  }

  /** Events in scope with id > afterId, oldest first; a cursor older than what is kept gets `reset`. */
  since(path: string, scope: EventScope, afterId: number): Replay {
    if (afterId + 1 < this.firstRetainedId) return { kind: 'reset', oldestId: this.firstRetainedId };
    const events: AgentEvent[] = [];
    const n = this.ring.length;
    for (let i = 0; i < n; i++) {
      const event = this.ring[(this.start + i) % n]!;
      if (event.id > afterId && inScope(event.path, path, scope)) events.push(event);
    }
    return { kind: 'events', events };
  }
}

import { LIMITS } from '../domain/limits.js';
import { inScope, type AgentEvent, type EventScope } from './types.js';

/** What a reconnecting client may need: the events after a cursor, or word that the cursor is too old. */
export type Replay = { kind: 'events'; events: AgentEvent[] } | { kind: 'reset'; oldestId: number };

/** Below this many dropped slots the queue is not compacted (a copy per eviction would cost more than it saves). */
const COMPACT_AFTER = 1_024;

/**
 * Recent events in memory, one queue for cursor replay across all streams; a durable store keeps more. `/log`
 * reads the store, which also answers for events still waiting for their commit, so nothing is kept per agent.
 * Bounded twice: by count and by size (messages of 100 KB each would otherwise make 50,000 events 5 GB); the
 * newest event is always kept, whatever its size.
 */
export class EventHistory {
  private events: Array<AgentEvent | undefined> = [];
  private sizes: number[] = [];
  private head = 0; // index of the oldest kept event
  private bytes = 0;
  /** The id of the oldest event ever dropped + 1; a cursor below it has missed events. */
  private firstRetainedId = 1;

  constructor(
    private readonly maxEvents: number = LIMITS.replayBufferEvents,
    private readonly maxBytes: number = LIMITS.replayBufferBytes,
  ) {}

  /** How many events and (approximate) bytes are held. */
  get held(): { events: number; bytes: number } {
    return { events: this.events.length - this.head, bytes: this.bytes };
  }

  add(event: AgentEvent): void {
    const size = approxBytes(event);
    this.events.push(event);
    this.sizes.push(size);
    this.bytes += size;
    while (this.events.length - this.head > 1 && (this.events.length - this.head > this.maxEvents || this.bytes > this.maxBytes)) {
      this.firstRetainedId = this.events[this.head]!.id + 1;
      this.bytes -= this.sizes[this.head]!;
      this.events[this.head] = undefined;
      this.head += 1;
    }
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.events.length) {
      this.events = this.events.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
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
    for (let i = this.head; i < this.events.length; i++) {
      const event = this.events[i]!;
      if (event.id > afterId && inScope(event.path, path, scope)) events.push(event);
    }
    return { kind: 'events', events };
  }
}

/** Bytes an event holds, roughly: its strings' lengths plus a little per field. Cheap: no serialisation. */
function approxBytes(event: AgentEvent): number {
  return 64 + event.path.length + event.type.length + valueBytes(event.data, 0);
}

function valueBytes(value: unknown, depth: number): number {
  if (typeof value === 'string') return value.length;
  if (value === null || typeof value !== 'object' || depth > 8) return 8;
  let n = 16;
  if (Array.isArray(value)) for (const item of value) n += valueBytes(item, depth + 1);
  else for (const key in value) n += key.length + valueBytes((value as Record<string, unknown>)[key], depth + 1);
  return n;
}

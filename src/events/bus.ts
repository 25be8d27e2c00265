import { EventHistory } from './history.js';
import { eventJson, type AgentEvent, type EventScope } from './types.js';

export interface Subscriber {
  readonly scope: EventScope;
  deliver(event: AgentEvent, wire: string): void;
}

/** Receives every event as it is published; the durable store is one (it persists them in order). */
export type EventSink = (event: AgentEvent) => void;

/** Encodes an event as one SSE frame. Done once per event, shared by every subscriber. */
export function sseFrame(event: AgentEvent): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(eventJson(event))}\n\n`;
}

/**
 * The event bus. Subscribers register at a path; publishing walks the event's path prefixes, so its cost is
 * O(path depth + subscribers that match), never O(all subscribers).
 */
export class EventBus {
  readonly history = new EventHistory();
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly sinks: EventSink[] = [];
  private nextId: number;

  constructor(private readonly clock: () => number = Date.now, lastId = 0) {
    this.nextId = lastId + 1;
  }

  get lastId(): number {
    return this.nextId - 1;
  }

  /** Continues numbering after events restored from a store. */
  resumeAfter(lastId: number): void {
    this.nextId = Math.max(this.nextId, lastId + 1);
  }

  addSink(sink: EventSink): void {
    this.sinks.push(sink);
  }

  publish(path: string, type: string, data: Record<string, unknown> = {}): AgentEvent {
    const event: AgentEvent = { id: this.nextId++, type, path, timestamp: new Date(this.clock()).toISOString(), data };
    this.history.add(event);
    for (const sink of this.sinks) sink(event);
    let wire: string | undefined;
    let end = -1;
    do {
      end = path.indexOf('/', end + 1);
      const prefix = end === -1 ? path : path.slice(0, end);
      const subs = this.subscribers.get(prefix);
      if (subs) {
        for (const sub of subs) {
          if (sub.scope === 'self' && prefix !== path) continue;
          sub.deliver(event, (wire ??= sseFrame(event)));
        }
      }
    } while (end !== -1);
    return event;
  }

  subscribe(path: string, subscriber: Subscriber): () => void {
    let subs = this.subscribers.get(path);
    if (!subs) this.subscribers.set(path, (subs = new Set()));
    subs.add(subscriber);
    return () => {
      subs.delete(subscriber);
      if (subs.size === 0 && this.subscribers.get(path) === subs) this.subscribers.delete(path);
    };
  }

  subscriberCount(): number {
    let n = 0;
    for (const subs of this.subscribers.values()) n += subs.size;
    return n;
  }
}

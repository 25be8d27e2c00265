import { withinSubtree } from '../domain/subtree-path.js';
import { EventHistory } from './history.js';
import { eventJson, type AgentEvent, type EventScope } from './types.js';

export interface Subscriber {
  readonly scope: EventScope;
  deliver(event: AgentEvent, wire: string): void;
  /** Takes ephemeral events too (live tokens): their SSE frame, which has no id. Absent: it gets none. */
  readonly ephemeral?: (wire: string) => void;
  /** Ends the subscription from the bus's side (its subtree moved to another daemon). */
  readonly end?: () => void;
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
  /** Subscribers that take ephemeral events: while there are none, publishing one costs nothing. */
  private ephemeralSubscribers = 0;
  private nextId: number;
  /** Block numbering (several daemons on one database): ids below `idEnd`; a refill is asked for at `lowMark`. */
  private idEnd = Infinity;
  private lowMark = Infinity;
  private blockSize = 0;
  private nextBlock: number | null = null;
  private refill: (() => Promise<number>) | null = null;
  private refilling = false;

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

  /**
   * Numbers events from blocks of `size` ids handed out by `refill` (src/cluster/event-ids.ts), starting with the
   * block at `start` now. The next block is asked for when half of the current one is used.
   */
  useIdBlocks(start: number, size: number, refill: () => Promise<number>): void {
    this.blockSize = size;
    this.refill = refill;
    this.jumpToBlock(start);
  }

  /** Continues in the block at `start` (above every id handed out before it, by any daemon). */
  jumpToBlock(start: number): void {
    this.nextId = start;
    this.idEnd = start + this.blockSize;
    this.lowMark = this.idEnd - Math.floor(this.blockSize / 2);
    this.nextBlock = null;
  }

  private idsRunningLow(): void {
    if (this.nextId >= this.idEnd && this.nextBlock !== null) return this.jumpToBlock(this.nextBlock);
    // Past the end with no next block: the database has not answered for half a block of events (its commits are
    // failing too). Numbering goes on past the block, into ids another daemon may also use: a known limit
    // (docs/scale-out.md), reached only after ~500,000 events without a database.
    if (this.refilling || this.nextBlock !== null || !this.refill) return;
    this.refilling = true;
    this.refill().then((start) => {
      this.nextBlock = start;
    }, () => undefined).finally(() => {
      this.refilling = false;
    });
  }

  addSink(sink: EventSink): void {
    this.sinks.push(sink);
  }

  publish(path: string, type: string, data: Record<string, unknown> = {}): AgentEvent {
    if (this.nextId >= this.lowMark) this.idsRunningLow();
    const event: AgentEvent = { id: this.nextId++, type, path, timestamp: new Date(this.clock()).toISOString(), data };
    this.history.add(event);
    for (const sink of this.sinks) sink(event);
    let wire: string | undefined;
    this.forEachSubscriber(path, (sub) => sub.deliver(event, (wire ??= sseFrame(event))));
    return event;
  }

  /**
   * An event that is never kept: no id, no history, no sinks (so never stored or replayed), delivered at most once
   * to the subscribers that take ephemeral events (`?tokens=true`). Live tokens are these.
   */
  publishEphemeral(path: string, type: string, data: Record<string, unknown>): void {
    if (this.ephemeralSubscribers === 0) return;
    let wire: string | undefined;
    this.forEachSubscriber(path, (sub) => sub.ephemeral?.((wire ??= `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`)));
  }

  /** Every subscriber an event at `path` reaches: subtree ones at the path and each ancestor, `self` ones at the path. */
  private forEachSubscriber(path: string, visit: (subscriber: Subscriber) => void): void {
    let end = -1;
    do {
      end = path.indexOf('/', end + 1);
      const prefix = end === -1 ? path : path.slice(0, end);
      const subs = this.subscribers.get(prefix);
      if (subs) {
        for (const sub of subs) if (sub.scope !== 'self' || prefix === path) visit(sub);
      }
    } while (end !== -1);
  }

  subscribe(path: string, subscriber: Subscriber): () => void {
    let subs = this.subscribers.get(path);
    if (!subs) this.subscribers.set(path, (subs = new Set()));
    subs.add(subscriber);
    if (subscriber.ephemeral) this.ephemeralSubscribers++;
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      if (subscriber.ephemeral) this.ephemeralSubscribers--;
      subs.delete(subscriber);
      if (subs.size === 0 && this.subscribers.get(path) === subs) this.subscribers.delete(path);
    };
  }

  /** Ends every subscription at or under `root`: clients reconnect and reach the subtree's new owner. */
  endSubtree(root: string): void {
    for (const [path, subs] of [...this.subscribers]) {
      if (!withinSubtree(path, root)) continue;
      for (const sub of [...subs]) sub.end?.();
    }
  }

  subscriberCount(): number {
    let n = 0;
    for (const subs of this.subscribers.values()) n += subs.size;
    return n;
  }
}

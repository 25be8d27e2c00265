import type { Store } from '../store/store.js';
import type { EventBus } from './bus.js';
import type { Replay } from './history.js';
import type { EventScope } from './types.js';

/** The most events one reconnect replays from disk; past it the client gets `reset` and re-reads the tree. */
export const MAX_REPLAY_FROM_STORE = 10_000;

/** What a client reconnecting after `afterId` missed: from memory when it can, else from the store. */
export async function replaySince(bus: EventBus, store: Store, path: string, scope: EventScope, afterId: number): Promise<Replay> {
  const fromMemory = bus.history.since(path, scope, afterId);
  if (fromMemory.kind === 'events') return fromMemory;
  const fromStore = await store.eventsSince(path, scope, afterId, MAX_REPLAY_FROM_STORE + 1);
  if (fromStore === 'gone' || fromStore.length > MAX_REPLAY_FROM_STORE) return { kind: 'reset', oldestId: fromMemory.oldestId };
  return { kind: 'events', events: fromStore };
}

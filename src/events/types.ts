/** One thing that happened to one agent. Every event has a monotonic id, its type, the agent's path and a time. */
export interface AgentEvent {
  readonly id: number;
  readonly type: string;
  readonly path: string;
  readonly timestamp: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** The JSON an SSE client or the log sees: `{type, path, timestamp, ...data}`. */
export function eventJson(event: AgentEvent): Record<string, unknown> {
  return { ...event.data, type: event.type, path: event.path, timestamp: event.timestamp, id: event.id };
}

/** Where a subscriber listens: an agent and its whole subtree (`/observe`) or the agent alone (`/log`). */
export type EventScope = 'subtree' | 'self';

export function inScope(eventPath: string, path: string, scope: EventScope): boolean {
  if (eventPath === path) return true;
  return scope === 'subtree' && eventPath.length > path.length && eventPath.startsWith(path) && eventPath[path.length] === '/';
}

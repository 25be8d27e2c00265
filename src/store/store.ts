import type { AgentRecord, Checkpoint } from '../domain/agent.js';
import type { AgentEvent } from '../events/types.js';

/** Everything needed to bring the tree back at start. */
export interface StoredState {
  agents: AgentRecord[]; // parents before children
  checkpoints: Checkpoint[];
  events: AgentEvent[]; // the most recent, oldest first
  /** Ids up to here may have been handed out (to SSE clients too); numbering continues after it. */
  lastEventId: number;
  /** Events before this id may have been pruned. */
  firstRetainedEventId: number;
}

/**
 * The persistence interface. Writes are queued and made durable together (group commit); `flush()` resolves
 * once everything queued before it is on disk, and the HTTP layer awaits it before acknowledging.
 */
export interface Store {
  saveAgent(agent: AgentRecord): void;
  deleteAgent(path: string): void;
  appendEvent(event: AgentEvent): void;
  saveCheckpoint(checkpoint: Checkpoint): void;
  loadCheckpoint(path: string, id: string): Checkpoint | undefined;
  listCheckpoints(path: string): Checkpoint[];
  /** Events in a subtree (or of one agent) after a cursor, for replay beyond what memory keeps; `gone` when
   * events after the cursor were already pruned. */
  eventsSince(path: string, scope: 'subtree' | 'self', afterId: number, limit: number): AgentEvent[] | 'gone';
  /** The last `limit` events of one agent, oldest first, counting those still waiting for their commit (`/log`). */
  recentEvents(path: string, limit: number): AgentEvent[];
  load(): StoredState;
  flush(): Promise<void>;
  isHealthy(): boolean;
  close(): void;
}

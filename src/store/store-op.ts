import type { AgentRecord, Checkpoint, HistoryKind, InboxItem, TurnJson } from '../domain/agent.js';
import type { Approval } from '../domain/approval.js';
import type { AgentEvent } from '../events/types.js';

/** One queued write, in the order the runtime made it: what both stores' group commits take. */
export type StoreOp =
  | { kind: 'agent'; agent: AgentRecord }
  | { kind: 'delete'; path: string }
  | { kind: 'event'; event: AgentEvent }
  | { kind: 'checkpoint'; checkpoint: Checkpoint }
  | { kind: 'approval'; approval: Approval }
  | { kind: 'turn'; path: string; seq: number; rowKind: HistoryKind; json: TurnJson }
  | { kind: 'replaceTurn'; path: string; seq: number; json: TurnJson }
  | { kind: 'inbox'; path: string; seq: number; item: InboxItem }
  | { kind: 'takeInbox'; path: string; beforeSeq: number };

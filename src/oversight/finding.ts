import type { SuspendReason } from '../domain/schemas.js';

/** What one oversight check concluded about one agent, and what it does about it. */
export interface Finding {
  path: string;
  kind: 'token_budget' | 'cost_budget' | 'subtree_budget' | 'token_rate' | 'runtime' | 'loop' | 'drift' | 'coherence';
  action: 'suspend' | 'warn';
  /** The suspend reason when `action` is suspend. */
  reason?: SuspendReason;
  detail: string;
  timestamp: string;
}

export type FindingDraft = Omit<Finding, 'path' | 'timestamp'>;

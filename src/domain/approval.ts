/**
 * One tool call held for a person's yes (README "Approvals"). Kept in the store from the moment it is asked, so a
 * pending one survives a daemon restart; decided ones stay as the record of who decided (until the agent is purged).
 */
export interface Approval {
  id: string;
  /** The agent that asked. */
  path: string;
  tool: string;
  input: Record<string, unknown>;
  /** The tool_use block it holds (a daemon restarted meanwhile resumes at that call). */
  toolUseId: string;
  state: ApprovalState;
  createdAtMs: number;
  expiresAtMs: number;
  onTimeout: 'allow' | 'deny';
  /** The rule that asked: its pattern and the agent whose policy holds it. */
  rule: { tool: string; from: string };
  decidedAtMs: number | null;
  /** A key's name, or `timeout`. */
  decidedBy: string | null;
  note: string | null;
  remember: 'agent' | 'subtree' | null;
}

export type ApprovalState = 'pending' | 'allowed' | 'denied' | 'expired' | 'cancelled';

/** The approval as the API shows it. */
export function approvalJson(a: Approval): Record<string, unknown> {
  return {
    id: a.id, path: a.path, tool: a.tool, input: a.input, state: a.state,
    created_at: new Date(a.createdAtMs).toISOString(), expires_at: new Date(a.expiresAtMs).toISOString(),
    on_timeout: a.onTimeout, rule: a.rule,
    decided_at: a.decidedAtMs === null ? null : new Date(a.decidedAtMs).toISOString(),
    decided_by: a.decidedBy, note: a.note, remember: a.remember,
  };
}

import { randomBytes } from 'node:crypto';
import { withinSubtree } from '../domain/subtree-path.js';
import type { AgentRecord } from '../domain/agent.js';
import type { Approval, ApprovalState } from '../domain/approval.js';
import { granted, verdictFor, type Verdict } from '../domain/approval-rules.js';
import { conflict, notFound } from '../domain/errors.js';
import type { AgentEvent } from '../events/types.js';
import { INTERRUPTED_TOOL_TEXT } from '../runner/prompt.js';
import type { Runtime } from '../runtime/runtime.js';

/** A tool call as the gate sees it. */
export interface ToolCall {
  id: string;
  name: string;
  input: Record<string, unknown>;
}

export interface Decision {
  decision: 'allow' | 'deny';
  note?: string;
  remember?: 'agent' | 'subtree';
}

/** Events after which a held call will never run: its approval is cancelled. */
const ENDS_THE_CALL = new Set(['suspended', 'terminated', 'restarted', 'purged']);

/**
 * The approvals of the tree (README "Approvals"): asks, holds the calls that wait, decides, times out. Every
 * approval is written to the store as it changes, so a pending one waits again after a daemon restart, and
 * every request and decision is an event on the agent's stream (`approval_requested`, `approval_decided`).
 */
export class ApprovalRegistry {
  private readonly byId = new Map<string, Approval>();
  /** The pending approval of each waiting agent (its calls run one at a time, so one at most). */
  private readonly pendingByPath = new Map<string, Approval>();
  private readonly waiters = new Map<string, () => void>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Restored pending and not yet answered to a call: the call it holds has not run (see heldCall). */
  private readonly unanswered = new Set<string>();
  private readonly parentOf: (agent: AgentRecord) => AgentRecord | undefined;

  constructor(private readonly runtime: Runtime) {
    this.parentOf = (agent) => (agent.parentPath === null ? undefined : runtime.tree.find(agent.parentPath));
    runtime.bus.addSink((event) => this.onEvent(event));
  }

  /** At start, after the tree: pending approvals wait (and time out) again; agents waiting on none stop waiting. */
  restore(approvals: readonly Approval[]): void {
    for (const approval of approvals) {
      const agent = this.runtime.tree.find(approval.path);
      if (!agent) continue;
      this.byId.set(approval.id, approval);
      if (approval.state !== 'pending') continue;
      this.pendingByPath.set(approval.path, approval);
      this.unanswered.add(approval.id);
      agent.waitingFor = { approval: approval.id, tool: approval.tool };
      this.arm(approval);
    }
    for (const agent of this.runtime.tree.all()) {
      if (agent.waitingFor && this.pendingByPath.get(agent.path)?.id !== agent.waitingFor.approval) agent.waitingFor = null;
    }
  }

  /** The subtree under `root` moved to another daemon: its approvals are that daemon's now. */
  forgetSubtree(root: string): void {
    for (const [id, approval] of this.byId) {
      if (!withinSubtree(approval.path, root)) continue;
      this.byId.delete(id);
      this.unanswered.delete(id);
      const timer = this.timers.get(id);
      if (timer) clearTimeout(timer);
      this.timers.delete(id);
      this.waiters.delete(id);
    }
    for (const path of this.pendingByPath.keys()) if (withinSubtree(path, root)) this.pendingByPath.delete(path);
  }

  /**
   * Before a tool runs: null lets it run; a string is the refusal the model reads. A call that needs a yes holds
   * here until a person decides, the approval times out, or the agent is halted (`signal`).
   */
  async check(agent: AgentRecord, call: ToolCall, signal: AbortSignal): Promise<string | null> {
    let approval = this.heldFor(agent.path, call.id);
    if (approval === undefined) {
      const verdict = verdictFor(agent, call.name, this.parentOf);
      if (verdict === null || verdict.rule.decision === 'allow') return null;
      if (verdict.rule.decision === 'deny') {
        return `refused: ${call.name} is denied by policy.approvals of ${verdict.from} (rule "${verdict.rule.tool}"); do without it`;
      }
      if (granted(agent, call.name, this.parentOf)) return null;
      approval = this.ask(agent, call, verdict);
    }
    if (approval.state === 'pending') await this.settled(approval, signal);
    if (approval.state !== 'pending') this.unanswered.delete(approval.id);
    return answer(approval);
  }

  /** The pending approvals of a subtree (or of the whole tree), oldest first. */
  pending(path: string | null): Approval[] {
    const out: Approval[] = [];
    for (const approval of this.pendingByPath.values()) if (path === null || withinSubtree(approval.path, path)) out.push(approval);
    return out.sort((a, b) => a.createdAtMs - b.createdAtMs);
  }

  /** A person's decision, through the agent at `path` (the asker or an ancestor): 404 outside it, 409 once settled. */
  decide(path: string, id: string, decision: Decision, by: string): Approval {
    const approval = this.byId.get(id);
    if (approval === undefined || !withinSubtree(approval.path, path)) throw notFound(`approval ${id}`);
    if (approval.state !== 'pending') {
      throw conflict(`approval ${id} is already ${approval.state}${approval.decidedBy ? ` (by ${approval.decidedBy})` : ''}; nothing was changed`);
    }
    this.runtime.store.assertWritable();
    const agent = this.runtime.get(approval.path);
    if (decision.decision === 'allow' && decision.remember) {
      agent.approvalGrants = [...(agent.approvalGrants ?? []), { tool: approval.tool, subtree: decision.remember === 'subtree' }];
    }
    this.settle(approval, decision.decision === 'allow' ? 'allowed' : 'denied', by, decision.note ?? null, decision.remember ?? null);
    return approval;
  }

  /**
   * After a daemon restart, the call of the agent's last reply that still waits for (or was decided while nobody
   * waited on) its approval: the runner resumes the reply's tools from it. Null when there is none.
   */
  heldCall(agent: AgentRecord): string | null {
    if (this.unanswered.size === 0) return null;
    for (const id of this.unanswered) {
      const approval = this.byId.get(id);
      if (approval?.path === agent.path) return approval.toolUseId;
    }
    return null;
  }

  private heldFor(path: string, toolUseId: string): Approval | undefined {
    if (this.unanswered.size === 0) return undefined;
    for (const id of this.unanswered) {
      const approval = this.byId.get(id);
      if (approval?.path === path && approval.toolUseId === toolUseId) return approval;
    }
    return undefined;
  }

  private ask(agent: AgentRecord, call: ToolCall, verdict: Verdict): Approval {
    const nowMs = this.runtime.clock();
    const approval: Approval = {
      id: `ap-${randomBytes(6).toString('hex')}`, path: agent.path, tool: call.name, input: call.input, toolUseId: call.id,
      state: 'pending', createdAtMs: nowMs, expiresAtMs: nowMs + verdict.rule.timeout_seconds * 1000,
      onTimeout: verdict.rule.on_timeout, rule: { tool: verdict.rule.tool, from: verdict.from },
      decidedAtMs: null, decidedBy: null, note: null, remember: null,
    };
    this.byId.set(approval.id, approval);
    this.pendingByPath.set(agent.path, approval);
    agent.waitingFor = { approval: approval.id, tool: call.name };
    this.runtime.store.saveApproval(approval);
    this.runtime.emit(agent, 'approval_requested', {
      approval: approval.id, tool: call.name, input: call.input, tool_use_id: call.id, rule: approval.rule,
      expires_at: new Date(approval.expiresAtMs).toISOString(), on_timeout: approval.onTimeout,
    });
    this.runtime.save(agent);
    this.arm(approval);
    return approval;
  }

  /** Resolves once the approval is settled or the agent is halted (then the runner drops the call). */
  private settled(approval: Approval, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        signal.removeEventListener('abort', done);
        if (this.waiters.get(approval.id) === done) this.waiters.delete(approval.id);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      this.waiters.set(approval.id, done);
    });
  }

  private arm(approval: Approval): void {
    const timer = setTimeout(() => {
      this.timers.delete(approval.id);
      if (approval.state === 'pending') this.settle(approval, 'expired', 'timeout', null, null);
    }, Math.max(0, approval.expiresAtMs - this.runtime.clock()));
    timer.unref();
    this.timers.set(approval.id, timer);
  }

  private settle(approval: Approval, state: ApprovalState, by: string | null, note: string | null, remember: Approval['remember']): void {
    approval.state = state;
    approval.decidedAtMs = this.runtime.clock();
    approval.decidedBy = by;
    approval.note = note;
    approval.remember = remember;
    clearTimeout(this.timers.get(approval.id));
    this.timers.delete(approval.id);
    if (this.pendingByPath.get(approval.path) === approval) this.pendingByPath.delete(approval.path);
    const agent = this.runtime.tree.find(approval.path);
    if (agent) {
      // A purged agent's rows are gone with it: nothing to write back.
      this.runtime.store.saveApproval(approval);
      if (agent.waitingFor?.approval === approval.id) agent.waitingFor = null;
      const decision = state === 'allowed' || (state === 'expired' && approval.onTimeout === 'allow') ? 'allow' : 'deny';
      this.runtime.emit(agent, state === 'cancelled' ? 'approval_cancelled' : 'approval_decided', {
        approval: approval.id, tool: approval.tool, ...(state === 'cancelled' ? {} : { decision }),
        ...(state === 'expired' ? { timed_out: true } : {}), by, note, ...(remember ? { remember } : {}),
      });
      this.runtime.save(agent);
    }
    this.waiters.get(approval.id)?.();
  }

  /** The agent was suspended, restarted, terminated or purged: its held call will never run. */
  private onEvent(event: AgentEvent): void {
    if (this.pendingByPath.size === 0 || !ENDS_THE_CALL.has(event.type)) return;
    const approval = this.pendingByPath.get(event.path);
    if (approval === undefined) return;
    // After the event has reached every sink and stream: a sink publishing would reorder the events.
    queueMicrotask(() => {
      if (approval.state === 'pending') this.settle(approval, 'cancelled', null, `the agent was ${event.type}`, null);
      this.unanswered.delete(approval.id);
    });
  }
}

/** What the held call gets once its approval is settled. */
function answer(approval: Approval): string | null {
  switch (approval.state) {
    case 'allowed':
      return null;
    case 'denied':
      return `refused: ${approval.decidedBy ?? 'a person'} denied this ${approval.tool} call${approval.note ? `: ${approval.note}` : ''}`;
    case 'expired':
      return approval.onTimeout === 'allow' ? null : `refused: nobody approved this ${approval.tool} call in time (it timed out into deny)`;
    default:
      return INTERRUPTED_TOOL_TEXT;
  }
}

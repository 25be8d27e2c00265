import type { AgentRecord } from '../domain/agent.js';
import { isActive } from '../domain/states.js';
import { cacheHitRatio, contextPressure, type Check } from './checks.js';
import type { FindingDraft } from './finding.js';

/** What oversight would do to one agent now, and why (POST /oversight/check?dry_run=true). */
export interface DryRunEntry {
  path: string;
  state: string;
  /** False for agents a pass leaves alone (suspended, dead): they get no findings. */
  checked: boolean;
  /** The findings a pass would apply, in order; it stops at the first suspend, as a pass does. */
  findings: FindingDraft[];
  /** The upshot: `suspend` (with `reason`), `warn`, or `none`. */
  action: 'suspend' | 'warn' | 'none';
  reason?: string;
  /** What the agent's next model call would meet (a spent subtree budget stops it there, never mid-call). */
  next_call: FindingDraft | null;
  /** Share of the model's context window the last prompt filled, or null when unknown. */
  context_pressure: number | null;
  /** Cache reads over all prompt tokens sent so far, or null before the first call. */
  cache_hit_ratio: number | null;
  subtree_cost_usd: number;
  subtree_tokens_total: number;
}

export interface DryRunChecks {
  periodic: readonly Check[];
  nextCall: Check;
  windowOf: (model: string) => number | null;
}

/** Runs the checks on every agent under `roots` (parents first) without applying anything: pure. */
export function dryRunOf(roots: readonly AgentRecord[], nowMs: number, checks: DryRunChecks): DryRunEntry[] {
  const out: DryRunEntry[] = [];
  const stack = [...roots].reverse();
  while (stack.length > 0) {
    const agent = stack.pop()!;
    out.push(entryFor(agent, nowMs, checks));
    const kids = [...agent.children.values()];
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
  return out;
}

function entryFor(agent: AgentRecord, nowMs: number, checks: DryRunChecks): DryRunEntry {
  const checked = isActive(agent.state);
  const findings: FindingDraft[] = [];
  if (checked) {
    for (const check of checks.periodic) {
      const draft = check(agent, nowMs);
      if (!draft) continue;
      findings.push(draft);
      if (draft.action === 'suspend') break;
    }
  }
  const last = findings.at(-1);
  const entry: DryRunEntry = {
    path: agent.path,
    state: agent.state,
    checked,
    findings,
    action: last?.action === 'suspend' ? 'suspend' : findings.length > 0 ? 'warn' : 'none',
    next_call: checked ? checks.nextCall(agent, nowMs) : null,
    context_pressure: contextPressure(agent, checks.windowOf(agent.spec.model)),
    cache_hit_ratio: cacheHitRatio(agent),
    subtree_cost_usd: agent.health.subtree_cost_usd ?? 0,
    subtree_tokens_total: agent.health.subtree_tokens_total ?? 0,
  };
  if (last?.action === 'suspend' && last.reason) entry.reason = last.reason;
  return entry;
}

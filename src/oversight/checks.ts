import type { AgentRecord } from '../domain/agent.js';
import { tokensInLastHour } from '../usage/usage.js';
import type { FindingDraft } from './finding.js';

export { tokensInLastHour };

/** Below this coherence an agent is suspended whatever its drift (the seed's table). */
export const MIN_COHERENCE = 0.3;

/** Each check is a pure function of the agent and the time; null means nothing to say. */
export type Check = (agent: AgentRecord, nowMs: number) => FindingDraft | null;

export const tokenBudget: Check = (agent) => {
  const max = agent.policy.budget.max_total_tokens;
  if (max === null || agent.health.tokens_total < max) return null;
  return { kind: 'token_budget', action: 'suspend', reason: 'budget_exceeded', detail: `used ${agent.health.tokens_total} tokens of max_total_tokens ${max}` };
};

/** Money spent, the judge's calls included; an unknown cost (a model without a price) cannot cross it. */
export const costBudget: Check = (agent) => {
  const max = agent.policy.budget.max_cost_usd;
  const spent = agent.health.cost_usd;
  if (max === null || max === undefined || spent === null || spent === undefined || spent < max) return null;
  return { kind: 'cost_budget', action: 'suspend', reason: 'budget_exceeded', detail: `spent $${spent.toFixed(4)} of max_cost_usd $${max}` };
};

export const tokenRate: Check = (agent, nowMs) => {
  const max = agent.policy.budget.max_tokens_per_hour;
  if (max === null) return null;
  const rate = tokensWithinHour(agent, nowMs);
  if (rate <= max) return null;
  return { kind: 'token_rate', action: 'warn', detail: `${rate} tokens in the last hour exceeds max_tokens_per_hour ${max}` };
};

export const runtimeBudget: Check = (agent, nowMs) => {
  const max = agent.policy.budget.max_runtime_seconds;
  if (max === null || agent.startedAtMs === null) return null;
  const seconds = (nowMs - agent.startedAtMs) / 1000;
  if (seconds <= max) return null;
  return { kind: 'runtime', action: 'suspend', reason: 'budget_exceeded', detail: `running ${Math.floor(seconds)} s, past max_runtime_seconds ${max}` };
};

export const drift: Check = (agent) => {
  if (agent.health.drift <= agent.policy.drift_threshold) return null;
  return { kind: 'drift', action: 'suspend', reason: 'drift_detected', detail: `drift ${agent.health.drift.toFixed(2)} is past drift_threshold ${agent.policy.drift_threshold}` };
};

export const coherence: Check = (agent) => {
  if (agent.health.coherence >= MIN_COHERENCE) return null;
  return { kind: 'coherence', action: 'suspend', reason: 'drift_detected', detail: `coherence ${agent.health.coherence.toFixed(2)} is below ${MIN_COHERENCE}` };
};

/** The checks of a periodic pass, most severe first; the first suspend wins. Loops are checked per tool call. */
export const PERIODIC_CHECKS: readonly Check[] = [tokenBudget, costBudget, runtimeBudget, coherence, drift, tokenRate];

/** The budgets checked right after each model call (the agent's, a compaction's or the judge's). */
export const CALL_CHECKS: readonly Check[] = [tokenBudget, costBudget];

const HOUR_MS = 3_600_000;

/** Tokens of the last hour, changing nothing (tokensInLastHour also drops old samples; a dry run must not). */
function tokensWithinHour(agent: AgentRecord, nowMs: number): number {
  let total = 0;
  for (const s of agent.tokenSamples) if (s.atMs > nowMs - HOUR_MS) total += s.tokens;
  return total;
}

/** What the caller's next model call is expected to add: its prompt at the input price plus its usual reply. */
export interface CallEstimate {
  tokens: number;
  costUsd: number;
}

export const NO_CALL: CallEstimate = Object.freeze({ tokens: 0, costUsd: 0 });

/**
 * Subtree budgets along the caller's line (itself, its parent, … its root): the first whose subtree has spent its
 * budget, or would cross it with this call, stops the caller before the call. With NO_CALL it says whether the next
 * call, whatever it costs, is already refused.
 */
export function subtreeBudget(line: readonly AgentRecord[], call: CallEstimate): FindingDraft | null {
  for (const node of line) {
    const budget = node.policy.budget;
    const maxUsd = budget.subtree_max_cost_usd ?? null;
    if (maxUsd !== null) {
      const spent = node.health.subtree_cost_usd ?? 0;
      if (spent >= maxUsd || spent + call.costUsd > maxUsd) {
        return { kind: 'subtree_budget', action: 'suspend', reason: 'budget_exceeded', detail: `${crossing(node, call.costUsd > 0 && spent < maxUsd)}: the subtree of ${node.path} has spent $${spent.toFixed(4)} of its subtree_max_cost_usd $${maxUsd}${call.costUsd > 0 ? ` (this call: about $${call.costUsd.toFixed(4)})` : ''}` };
      }
    }
    const maxTokens = budget.subtree_max_total_tokens ?? null;
    if (maxTokens !== null) {
      const used = node.health.subtree_tokens_total ?? 0;
      if (used >= maxTokens || used + call.tokens > maxTokens) {
        return { kind: 'subtree_budget', action: 'suspend', reason: 'budget_exceeded', detail: `${crossing(node, call.tokens > 0 && used < maxTokens)}: the subtree of ${node.path} has used ${used} of its subtree_max_total_tokens ${maxTokens}${call.tokens > 0 ? ` (this call: about ${call.tokens})` : ''}` };
      }
    }
  }
  return null;
}

function crossing(node: AgentRecord, wouldCross: boolean): string {
  return `${wouldCross ? 'would cross' : 'spent'} the subtree budget of ${node.path}`;
}

/** The share of the model's context window the last prompt filled (0..1), or null when the window is unknown. */
export function contextPressure(agent: AgentRecord, windowTokens: number | null): number | null {
  if (!windowTokens || windowTokens <= 0) return null;
  return Math.round(((agent.health.context_tokens ?? 0) / windowTokens) * 1000) / 1000;
}

/** Cache reads over every prompt token sent (0..1), or null before the first call. */
export function cacheHitRatio(agent: AgentRecord): number | null {
  const h = agent.health;
  const read = h.cache_read_tokens ?? 0;
  const prompt = (h.input_tokens ?? 0) + (h.cache_write_5m_tokens ?? 0) + (h.cache_write_1h_tokens ?? 0) + read;
  return prompt === 0 ? null : Math.round((read / prompt) * 1000) / 1000;
}

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
  const rate = tokensInLastHour(agent, nowMs);
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

import { describe, expect, it } from 'vitest';
import { newAgentRecord, type AgentRecord } from '../../src/domain/agent.js';
import { policySchema, specSchema, type PolicyInput } from '../../src/domain/schemas.js';
import { coherence, drift, MIN_COHERENCE, runtimeBudget, tokenBudget, tokenRate, tokensInLastHour } from '../../src/oversight/checks.js';

const START = 1_000_000;
const HOUR = 3_600_000;

function agent(policy: PolicyInput = {}, health: Partial<AgentRecord['health']> = {}): AgentRecord {
  const record = newAgentRecord({ id: 'a', parentPath: null, depth: 0, spec: specSchema.parse({ goal: 'g' }), policy: policySchema.parse(policy), nowMs: START });
  Object.assign(record.health, health);
  return record;
}

describe('oversight checks', () => {
  it.each([
    [null, 10_000, null],
    [100, 99, null],
    [100, 100, 'suspend'],
    [100, 250, 'suspend'],
  ])('token budget max_total_tokens %s with %i used → %s', (max, used, action) => {
    const finding = tokenBudget(agent({ budget: { max_total_tokens: max } }, { tokens_total: used }), START);
    expect(finding?.action ?? null).toBe(action);
    if (finding) expect(finding).toMatchObject({ kind: 'token_budget', reason: 'budget_exceeded' });
  });

  it.each([
    [null, 11_000, null],
    [10, 10_000, null],
    [10, 10_001, 'suspend'],
  ])('runtime budget max_runtime_seconds %s after %i ms → %s', (max, elapsedMs, action) => {
    const finding = runtimeBudget(agent({ budget: { max_runtime_seconds: max } }), START + elapsedMs);
    expect(finding?.action ?? null).toBe(action);
    if (finding) expect(finding).toMatchObject({ kind: 'runtime', reason: 'budget_exceeded' });
    if (finding) expect(finding.detail).toContain('max_runtime_seconds');
  });

  it.each([
    [0.4, 0.4, null],
    [0.4, 0.41, 'suspend'],
    [0, 0.01, 'suspend'],
  ])('drift threshold %s with drift %s → %s', (threshold, value, action) => {
    const finding = drift(agent({ drift_threshold: threshold }, { drift: value }), START);
    expect(finding?.action ?? null).toBe(action);
    if (finding) expect(finding.reason).toBe('drift_detected');
  });

  it.each([
    [1, null],
    [MIN_COHERENCE, null],
    [MIN_COHERENCE - 0.01, 'suspend'],
  ])('coherence %s → %s', (value, action) => {
    expect(coherence(agent({}, { coherence: value }), START)?.action ?? null).toBe(action);
  });

  it('warns (never suspends) when the token rate of the last hour is past max_tokens_per_hour', () => {
    const a = agent({ budget: { max_tokens_per_hour: 100 } });
    a.tokenSamples.push({ atMs: START - HOUR, tokens: 1_000 }, { atMs: START + 10, tokens: 60 }, { atMs: START + 20, tokens: 50 });
    const finding = tokenRate(a, START + HOUR - 1);
    expect(finding).toMatchObject({ kind: 'token_rate', action: 'warn' });
    expect(finding?.reason).toBeUndefined();
    expect(tokenRate(a, START + HOUR + 15)).toBeNull(); // the sample at +10 has aged out: 50 left
  });

  it('counts only the last hour of tokens and drops older samples', () => {
    const a = agent();
    a.tokenSamples.push({ atMs: START, tokens: 5 }, { atMs: START + HOUR / 2, tokens: 7 });
    expect(tokensInLastHour(a, START + HOUR)).toBe(7);
    expect(a.tokenSamples).toHaveLength(1);
  });
});

import { describe, expect, it } from 'vitest';
import { ACTION_WORDS } from '../../src/domain/limits.js';
import { agentIdSchema, policySchema, spawnBodySchema, suspendBodySchema } from '../../src/domain/schemas.js';

describe('agent ids', () => {
  it.each(['researcher', 'a', 'A_b-c.d', '_x', '-x', '0', 'x'.repeat(64), 'logs', 'observer'])('accepts %j', (id) => {
    expect(agentIdSchema.safeParse(id).success).toBe(true);
  });

  it.each(['', '.hidden', 'a/b', 'a b', 'x'.repeat(65), 'café', 'a%2Fb', 'a?b'])('refuses %j', (id) => {
    expect(agentIdSchema.safeParse(id).success).toBe(false);
  });

  it.each(ACTION_WORDS)('refuses the action word %s', (word) => {
    const result = agentIdSchema.safeParse(word);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain('action word');
  });
});

describe('request bodies', () => {
  it('fills every spec and policy default', () => {
    const body = spawnBodySchema.parse({ spec: { goal: 'g' } });
    expect(body.spec).toEqual({
      goal: 'g', model: 'claude-sonnet-4-6', tools: [], schedule: null, max_tokens: 4096, instructions: null, thinking: null, prompt_cache: '5m',
    });
    expect(policySchema.parse({})).toEqual({
      restart: 'on_failure', supervision: 'one_for_one', max_restarts: 3, restart_window_seconds: null,
      budget: { max_tokens_per_hour: null, max_total_tokens: null, max_runtime_seconds: null, max_cost_usd: null,
        subtree_max_cost_usd: null, subtree_max_total_tokens: null },
      drift_threshold: 0.4, max_children: 10, max_depth: 3, repeatable_tools: [], approvals: [],
    });
  });

  it('fills budget defaults when only part of a budget is given', () => {
    expect(policySchema.parse({ budget: { max_runtime_seconds: 10 } }).budget)
      .toEqual({
        max_tokens_per_hour: null, max_total_tokens: null, max_runtime_seconds: 10, max_cost_usd: null,
        subtree_max_cost_usd: null, subtree_max_total_tokens: null,
      });
  });

  it('refuses unknown fields at every level, naming them', () => {
    for (const body of [{ spec: { goal: 'g' }, extra: 1 }, { spec: { goal: 'g', extra: 1 } }, { spec: { goal: 'g' }, policy: { budget: { extra: 1 } } }]) {
      const result = spawnBodySchema.safeParse(body);
      expect(result.success).toBe(false);
      expect(JSON.stringify(result.error?.issues)).toContain('extra');
    }
  });

  it('refuses a blank goal', () => {
    expect(spawnBodySchema.safeParse({ spec: { goal: '   ' } }).success).toBe(false);
  });

  it('suspends for manual reasons by default', () => {
    expect(suspendBodySchema.parse({})).toEqual({ reason: 'manual' });
  });
});

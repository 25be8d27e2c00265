import { describe, expect, it } from 'vitest';
import { newAgentRecord, type AgentRecord } from '../../src/domain/agent.js';
import { policySchema, specSchema, type PolicyInput } from '../../src/domain/schemas.js';
import { AgentTree } from '../../src/domain/tree.js';
import { NO_CALL, subtreeBudget } from '../../src/oversight/checks.js';
import { addSubtreeSpend, backfillSubtreeSpend, selfAndAncestors } from '../../src/subtree/spend.js';

const spec = specSchema.parse({ goal: 'test' });

function add(tree: AgentTree, parentPath: string | null, id: string, policy: PolicyInput = {}): AgentRecord {
  const parent = parentPath === null ? null : tree.get(parentPath);
  const agent = newAgentRecord({ id, parentPath, depth: parent ? parent.depth + 1 : 0, spec, policy: policySchema.parse(policy), nowMs: 0 });
  agent.state = 'running';
  tree.insert(agent);
  return agent;
}

describe('subtree spend', () => {
  it('adds a call to the caller and every ancestor, saving each ancestor, and nothing to siblings', () => {
    const tree = new AgentTree();
    const r = add(tree, null, 'r');
    const a = add(tree, 'r', 'a');
    const x = add(tree, 'r/a', 'x');
    const b = add(tree, 'r', 'b');
    const saved: string[] = [];
    addSubtreeSpend(tree, x, 100, 0.5, (n) => saved.push(n.path));
    addSubtreeSpend(tree, b, 10, null, (n) => saved.push(n.path));
    expect([r, a, x, b].map((n) => [n.health.subtree_tokens_total, n.health.subtree_cost_usd])).toEqual([[110, 0.5], [100, 0.5], [100, 0.5], [10, 0]]);
    expect(saved).toEqual(['r/a', 'r', 'r']);
  });

  it('fills the sums of records stored before they existed from the agents in the tree, keeping those that have them', () => {
    const tree = new AgentTree();
    const r = add(tree, null, 'r');
    const a = add(tree, 'r', 'a');
    for (const [n, tokens, cost] of [[r, 5, 0.1], [a, 7, 0.2]] as const) {
      n.health.tokens_total = tokens;
      n.health.cost_usd = cost;
      delete n.health.subtree_tokens_total;
      delete n.health.subtree_cost_usd;
    }
    backfillSubtreeSpend(tree);
    expect([r.health.subtree_tokens_total, r.health.subtree_cost_usd, a.health.subtree_tokens_total]).toEqual([12, 0.3, 7]);
  });

  it.each([
    ['under budget, a call that fits', 0.5, 0.2, null],
    ['a call that would cross the root\'s budget', 0.5, 0.6, /^would cross the subtree budget of r: /],
    ['a spent budget, whatever the call', 1, 0, /^spent the subtree budget of r: /],
  ])('%s', (_name, spent, call, expected) => {
    const tree = new AgentTree();
    const r = add(tree, null, 'r', { budget: { subtree_max_cost_usd: 1 } });
    const x = add(tree, 'r', 'x');
    r.health.subtree_cost_usd = spent;
    const found = subtreeBudget(selfAndAncestors(tree, x), call === 0 ? NO_CALL : { tokens: 1, costUsd: call });
    if (expected === null) expect(found).toBeNull();
    else expect(found).toMatchObject({ kind: 'subtree_budget', action: 'suspend', reason: 'budget_exceeded', detail: expect.stringMatching(expected) });
  });
});

import { describe, expect, it } from 'vitest';
import { newAgentRecord, type AgentRecord } from '../../src/domain/agent.js';
import { checkNoLooserRules, matches, ruleFor, verdictFor } from '../../src/domain/approval-rules.js';
import { policySchema, specSchema, type PolicyInput } from '../../src/domain/schemas.js';

function agent(id: string, parent: AgentRecord | null, policy: PolicyInput = {}): AgentRecord {
  return newAgentRecord({ id, parentPath: parent?.path ?? null, depth: parent ? parent.depth + 1 : 0, spec: specSchema.parse({ goal: 'g' }), policy: policySchema.parse(policy), nowMs: 0 });
}
const rules = (...list: Array<[string, 'allow' | 'ask' | 'deny']>) => list.map(([tool, decision]) => ({ tool, decision, timeout_seconds: 60, on_timeout: 'deny' as const }));

describe('tool patterns', () => {
  it.each([
    ['*', 'anything', true], ['mcp__github__*', 'mcp__github__list_issues', true], ['mcp__github__*', 'mcp__gitlab__x', false],
    ['mcp__*__delete_*', 'mcp__fs__delete_file', true], ['fetch_webpage', 'fetch_webpage', true], ['fetch_webpage', 'fetch_webpages', false],
    ['*_child', 'spawn_child', true], ['a*a', 'a', false], ['a*a', 'aa', true],
  ])('%s matches %s: %s', (pattern, name, expected) => expect(matches(pattern, name)).toBe(expected));

  it('within one list the most specific rule decides; a tie goes to the stricter', () => {
    const list = rules(['*', 'ask'], ['mcp__github__*', 'deny'], ['mcp__github__list_issues', 'allow']);
    expect(ruleFor(list, 'mcp__github__list_issues')?.decision).toBe('allow');
    expect(ruleFor(list, 'mcp__github__delete_repo')?.decision).toBe('deny');
    expect(ruleFor(list, 'fetch_webpage')?.decision).toBe('ask');
    expect(ruleFor(rules(['x*', 'allow'], ['*y', 'deny']), 'xy')?.decision).toBe('deny');
  });

  it('down the tree the strictest level wins, whichever level it is', () => {
    const root = agent('r', null, { approvals: rules(['fetch_*', 'ask']) });
    const child = agent('c', root, { approvals: rules(['fetch_webpage', 'deny']) });
    const parentOf = (a: AgentRecord) => (a === child ? root : undefined);
    expect(verdictFor(child, 'fetch_webpage', parentOf)).toMatchObject({ from: 'r/c', rule: { decision: 'deny' } });
    expect(verdictFor(child, 'fetch_other', parentOf)).toMatchObject({ from: 'r', rule: { decision: 'ask' } });
    expect(verdictFor(child, 'list_children', parentOf)).toBeNull();
    expect(() => checkNoLooserRules(rules(['fetch_webpage', 'deny']), root, () => undefined)).not.toThrow();
    expect(() => checkNoLooserRules(rules(['*', 'allow'], ['fetch_webpage', 'deny']), root, () => undefined)).toThrow(/policy.approvals\[0\]/);
  });
});

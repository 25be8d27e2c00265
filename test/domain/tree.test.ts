import { describe, expect, it } from 'vitest';
import { newAgentRecord, type AgentRecord } from '../../src/domain/agent.js';
import { DomainError } from '../../src/domain/errors.js';
import { ACTION_WORDS, LIMITS } from '../../src/domain/limits.js';
import { policySchema, specSchema, type PolicyInput } from '../../src/domain/schemas.js';
import { AgentTree } from '../../src/domain/tree.js';

const spec = specSchema.parse({ goal: 'test' });

/** Adds an agent under `parentPath` the way the runtime does: checkSpawn, then insert. */
function add(tree: AgentTree, parentPath: string | null, id: string, policy: PolicyInput = {}): AgentRecord {
  const parent = tree.checkSpawn(parentPath, id);
  const agent = newAgentRecord({ id, parentPath, depth: parent ? parent.depth + 1 : 0, spec, policy: policySchema.parse(policy), nowMs: 0 });
  agent.state = 'running';
  tree.insert(agent);
  return agent;
}

function refusal(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError, nothing was thrown');
}

describe('AgentTree spawn limits', () => {
  it('lets a root with max_depth 2 have children but no grandchildren', () => {
    const tree = new AgentTree();
    add(tree, null, 'root', { max_depth: 2 });
    add(tree, 'root', 'child');
    const error = refusal(() => tree.checkSpawn('root/child', 'grandchild'));
    expect(error.code).toBe('POLICY_VIOLATION');
    expect(error.message).toContain('max_depth');
    expect(tree.find('root/child/grandchild')).toBeUndefined();
  });

  it.each([
    [0, 0], [1, 0], [2, 1], [3, 2], [5, 4],
  ])('under a root with max_depth %i, the deepest agent is %i levels below it', (maxDepth, deepest) => {
    const tree = new AgentTree();
    add(tree, null, 'r', { max_depth: maxDepth, max_children: 100 });
    let path = 'r';
    for (let level = 1; level <= deepest; level++) path = add(tree, path, `l${level}`, { max_depth: 64 }).path;
    expect(refusal(() => tree.checkSpawn(path, 'one-too-deep')).code).toBe('POLICY_VIOLATION');
  });

  it("counts depth over every ancestor: a child's deep policy cannot escape its root's shallow one", () => {
    const tree = new AgentTree();
    add(tree, null, 'root', { max_depth: 3 });
    add(tree, 'root', 'a', { max_depth: 64 });
    add(tree, 'root/a', 'b', { max_depth: 64 });
    const error = refusal(() => tree.checkSpawn('root/a/b', 'c'));
    expect(error.message).toMatch(/max_depth.*root.*3/);
  });

  it("also obeys a shallow policy further down: a child with max_depth 1 may not have children", () => {
    const tree = new AgentTree();
    add(tree, null, 'root', { max_depth: 10 });
    add(tree, 'root', 'leaf', { max_depth: 1 });
    expect(refusal(() => tree.checkSpawn('root/leaf', 'x')).message).toContain('root/leaf');
  });

  it('refuses a child past max_children, naming the limit', () => {
    const tree = new AgentTree();
    add(tree, null, 'p', { max_children: 2 });
    add(tree, 'p', 'a');
    add(tree, 'p', 'b');
    const error = refusal(() => tree.checkSpawn('p', 'c'));
    expect(error.code).toBe('POLICY_VIOLATION');
    expect(error.message).toContain('max_children');
  });

  it('counts only live children against max_children: one on its way out, or restored dead', () => {
    const tree = new AgentTree();
    add(tree, null, 'p', { max_children: 1 });
    const a = add(tree, 'p', 'a');
    expect(() => tree.checkSpawn('p', 'b')).toThrow('max_children');
    tree.departing(a); // what the runtime calls as it moves `a` to terminating
    a.state = 'terminating';
    expect(tree.checkSpawn('p', 'b')?.path).toBe('p');
    const restored = new AgentTree();
    add(restored, null, 'p', { max_children: 1 });
    const dead = newAgentRecord({ id: 'a', parentPath: 'p', depth: 1, spec: specSchema.parse({ goal: 'g' }), policy: policySchema.parse({}), nowMs: 0 });
    dead.state = 'dead';
    restored.insert(dead);
    expect(restored.checkSpawn('p', 'b')?.path).toBe('p');
  });

  it('refuses a duplicate id among siblings (dead ones included) as a conflict', () => {
    const tree = new AgentTree();
    add(tree, null, 'p');
    add(tree, 'p', 'a').state = 'dead';
    expect(refusal(() => tree.checkSpawn(null, 'p')).code).toBe('CONFLICT');
    expect(refusal(() => tree.checkSpawn('p', 'a')).code).toBe('CONFLICT');
  });

  it('allows the same id under different parents', () => {
    const tree = new AgentTree();
    add(tree, null, 'p');
    add(tree, null, 'q');
    add(tree, 'p', 'worker');
    expect(() => add(tree, 'q', 'worker')).not.toThrow();
    expect(tree.find('q/worker')?.parentPath).toBe('q');
  });

  it('refuses a missing parent as not found and a dead parent as a conflict', () => {
    const tree = new AgentTree();
    expect(refusal(() => tree.checkSpawn('nope', 'a')).code).toBe('NOT_FOUND');
    add(tree, null, 'p').state = 'dead';
    expect(refusal(() => tree.checkSpawn('p', 'a')).code).toBe('CONFLICT');
  });

  it(`refuses a path longer than ${LIMITS.pathMaxLength} characters as a bad request`, () => {
    const tree = new AgentTree();
    let path: string | null = null;
    for (let i = 0; i < 16; i++) path = add(tree, path, `${i}`.padStart(63, 'x'), { max_depth: 64, max_children: 1 }).path;
    expect(path!.length).toBeLessThan(LIMITS.pathMaxLength);
    expect(refusal(() => tree.checkSpawn(path, 'y'.repeat(63))).code).toBe('BAD_REQUEST');
  });
});

describe('AgentTree navigation', () => {
  function sample(): AgentTree {
    const tree = new AgentTree();
    add(tree, null, 'r');
    add(tree, 'r', 'a');
    add(tree, 'r/a', 'x');
    add(tree, 'r/a', 'y');
    add(tree, 'r', 'b');
    return tree;
  }

  it('finds agents by path and lists ancestors from the parent up', () => {
    const tree = sample();
    expect(tree.get('r/a/y').id).toBe('y');
    expect([...tree.ancestors(tree.get('r/a/y'))].map((a) => a.path)).toEqual(['r/a', 'r']);
    expect(() => tree.get('r/zz')).toThrow(/not found/);
  });

  it('orders a cascade children first (post-order), siblings in spawn order', () => {
    const tree = sample();
    expect(tree.postOrder(tree.get('r')).map((a) => a.path)).toEqual(['r/a/x', 'r/a/y', 'r/a', 'r/b', 'r']);
  });

  it('removes a whole subtree from the index and from its parent', () => {
    const tree = sample();
    tree.remove(tree.get('r/a'));
    expect(tree.size).toBe(2);
    expect(tree.find('r/a/x')).toBeUndefined();
    expect([...tree.get('r').children.keys()]).toEqual(['b']);
  });

  it('generates base, base-2, base-3 … for ids taken among siblings', () => {
    const tree = new AgentTree();
    expect(tree.uniqueId(null, 'worker')).toBe('worker');
    add(tree, null, 'worker');
    expect(tree.uniqueId(null, 'worker')).toBe('worker-2');
    add(tree, null, 'worker-2');
    expect(tree.uniqueId(null, 'worker')).toBe('worker-3');
  });

  it.each(ACTION_WORDS)('never generates the action word %s as an id', (word) => {
    const id = new AgentTree().uniqueId(null, word);
    expect(id).not.toBe(word);
    expect(id).toBe(`${word}-2`);
  });

  it('keeps generated ids within the id length limit', () => {
    const tree = new AgentTree();
    const long = 'a'.repeat(100);
    add(tree, null, tree.uniqueId(null, long));
    expect(tree.uniqueId(null, long).length).toBeLessThanOrEqual(LIMITS.idMaxLength);
  });
});

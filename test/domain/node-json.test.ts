import { describe, expect, it } from 'vitest';
import { newAgentRecord, type AgentRecord } from '../../src/domain/agent.js';
import { renderNode, toNodeJson } from '../../src/domain/node-json.js';
import { policySchema, specSchema } from '../../src/domain/schemas.js';

function agent(id: string, parent: AgentRecord | null, goal = `goal of ${id}`): AgentRecord {
  const record = newAgentRecord({
    id, parentPath: parent?.path ?? null, depth: parent ? parent.depth + 1 : 0,
    spec: specSchema.parse({ goal, tools: ['web_search'] }), policy: policySchema.parse({ budget: { max_total_tokens: 900 } }), nowMs: 1_700_000_000_000,
  });
  parent?.children.set(id, record);
  return record;
}

describe('renderNode, the precomputed serialisation, says exactly what toNodeJson says', () => {
  const root = agent('root', null, 'Quotes "and" \\ back\nslashes, ünïcode');
  const child = agent('child', root);
  const grandchild = agent('grandchild', child);
  child.state = 'suspended';
  child.suspendReason = 'loop_detected';
  grandchild.errorMessage = 'boom "quoted"';
  grandchild.forkedFrom = { path: 'root/other', checkpoint: 'cp-2' };
  grandchild.stoppedAtMs = 1_700_000_004_321;
  root.health.tokens_total = 1234;

  it.each([0, 1, 2, Infinity])('at depth %s', (depth) => {
    const now = 1_700_000_012_345;
    expect(JSON.parse(renderNode(root, now, depth))).toEqual(toNodeJson(root, now, { depth }));
  });

  it('reflects a change of state or health made after an earlier render', () => {
    renderNode(root, 0);
    root.state = 'idle';
    root.health.coherence = 0.5;
    const rendered = JSON.parse(renderNode(root, 0)) as { state: string; health: { coherence: number } };
    expect(rendered.state).toBe('idle');
    expect(rendered.health.coherence).toBe(0.5);
  });
});

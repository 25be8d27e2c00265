import { describe, expect, it } from 'vitest';
import { newAgentRecord, type AgentRecord } from '../../src/domain/agent.js';
import { ByteWriter } from '../../src/domain/byte-writer.js';
import { renderNode, toNodeJson, writeNode } from '../../src/domain/node-json.js';
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

/**
 * The renderer as it was before the per-record cache (verbatim but for its name): the byte reference for
 * `renderNode` and `writeNode`, which must answer exactly what it answered.
 */
function legacyRenderNode(agent: AgentRecord, nowMs: number, depth = Infinity): string {
  const end = agent.stoppedAtMs ?? nowMs;
  const uptime = agent.startedAtMs === null ? 0 : Math.max(0, Math.round((end - agent.startedAtMs) / 100) / 10);
  let out = `{"id":${JSON.stringify(agent.id)},"path":${JSON.stringify(agent.path)},"state":"${agent.state}"`
    + `,"spec":${JSON.stringify(agent.spec)},"policy":${JSON.stringify(agent.policy)},"health":${JSON.stringify(agent.health)}`
    + `,"created_at":"${new Date(agent.createdAtMs).toISOString()}","started_at":${agent.startedAtMs === null ? 'null' : `"${new Date(agent.startedAtMs).toISOString()}"`}`
    + `,"uptime":${uptime},"restart_count":${agent.restartCount},"checkpoints":${agent.checkpointCount}`;
  if (agent.suspendReason) out += `,"suspend_reason":"${agent.suspendReason}"`;
  if (agent.errorMessage) out += `,"error_message":${JSON.stringify(agent.errorMessage)}`;
  if (agent.forkedFrom) out += `,"forked_from":${JSON.stringify(agent.forkedFrom)}`;
  if (depth <= 0 && agent.children.size > 0) out += `,"children_count":${agent.children.size}`;
  out += ',"children":[';
  if (depth > 0) {
    let first = true;
    for (const child of agent.children.values()) {
      if (!first) out += ',';
      out += legacyRenderNode(child, nowMs, depth - 1);
      first = false;
    }
  }
  return `${out}]}`;
}

function bytesOf(agent: AgentRecord, nowMs: number, depth = Infinity, firstChunk?: number): Buffer {
  const out = new ByteWriter(firstChunk);
  writeNode(out, agent, nowMs, depth);
  return out.finish();
}

/** Both renderers against the reference, at every depth. */
function expectSameAsLegacy(agent: AgentRecord, nowMs: number): void {
  for (const depth of [0, 1, 2, Infinity]) {
    const legacy = legacyRenderNode(agent, nowMs, depth);
    expect(renderNode(agent, nowMs, depth)).toBe(legacy);
    expect(bytesOf(agent, nowMs, depth).equals(Buffer.from(legacy))).toBe(true);
  }
}

describe('renderNode and writeNode answer the same bytes as before their cache', () => {
  const T0 = 1_700_000_000_000;

  it('for a tree with every optional field, non-ASCII text, and across chunk boundaries', () => {
    const root = agent('root', null, 'Quotes "and" \\ back\nslashes, ünïcode, 😀 emoji, \u2028 separators');
    for (let i = 0; i < 40; i++) {
      const child = agent(`c${i}`, root, `child ${i} ${'ü'.repeat(i * 13)}`);
      if (i % 3 === 0) agent(`g${i}`, child);
    }
    const child = root.children.get('c3')!;
    child.state = 'suspended';
    child.suspendReason = 'loop_detected';
    child.errorMessage = 'boom "quoted" ✗';
    child.forkedFrom = { path: 'root/other', checkpoint: 'cp-2' };
    child.stoppedAtMs = T0 + 4_321;
    expectSameAsLegacy(root, T0 + 12_345);
    const legacy = Buffer.from(legacyRenderNode(root, T0 + 12_345));
    for (const firstChunk of [1, 7, 100, 4096]) expect(bytesOf(root, T0 + 12_345, Infinity, firstChunk).equals(legacy)).toBe(true);
  });

  it('after every kind of change the runtime makes in place', () => {
    const root = agent('root', null);
    const child = agent('child', root);
    const now = T0 + 5_000;
    const changes: Array<[string, () => void]> = [
      ['state', () => void (root.state = 'idle')],
      ['suspend', () => { child.state = 'suspended'; child.suspendReason = 'manual'; }],
      ['resume', () => { child.state = 'running'; child.suspendReason = null; }],
      ['coherence', () => void (root.health.coherence = 0.25)],
      ['drift', () => void (root.health.drift = 0.75)],
      ['token_rate', () => void (root.health.token_rate = 42)],
      ['tokens_total', () => void (root.health.tokens_total += 7)],
      ['loops_detected', () => void (root.health.loops_detected += 1)],
      ['last_check', () => void (root.health.last_check = new Date(now).toISOString())],
      ['health replaced', () => void (root.health = { ...root.health, coherence: 0.5 })],
      ['restart', () => { root.restartCount += 1; root.startedAtMs = T0 + 2_000; }],
      ['checkpoint', () => void (root.checkpointCount += 1)],
      ['error', () => void (child.errorMessage = 'it broke')],
      ['error cleared', () => void (child.errorMessage = null)],
      ['fork', () => void (child.forkedFrom = { path: 'x', checkpoint: 'cp-1' })],
      ['fork changed in place', () => void (child.forkedFrom!.checkpoint = 'cp-9')],
      ['not started', () => void (child.startedAtMs = null)],
      ['dead', () => { root.state = 'dead'; root.stoppedAtMs = T0 + 3_000; }],
      ['new child', () => void agent('late', child)],
      ['child removed', () => void child.children.delete('late')],
    ];
    expectSameAsLegacy(root, now);
    for (const [name, change] of changes) {
      change();
      for (const at of [now, now + 1_234]) {
        expect(renderNode(root, at), name).toBe(legacyRenderNode(root, at));
        expect(bytesOf(root, at).toString(), name).toBe(legacyRenderNode(root, at));
      }
    }
  });

  it('prints the uptime as JavaScript prints the number', () => {
    const node = agent('timed', null);
    const started = node.startedAtMs!;
    const elapsed = [0, 1, 49, 50, 51, 99, 100, 149, 150, 950, 999, 1_000, 1_050, 9_950, 10_000, 123_456_789, 2 ** 40 + 55, -1, -5_000];
    for (const ms of elapsed) {
      expect(bytesOf(node, started + ms).toString(), `${ms} ms`).toBe(legacyRenderNode(node, started + ms));
      expect(renderNode(node, started + ms), `${ms} ms`).toBe(legacyRenderNode(node, started + ms));
    }
  });
});

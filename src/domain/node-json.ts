import type { AgentRecord } from './agent.js';
import type { AgentNodeJson } from './schemas.js';

/** How much of a subtree to render: `depth` levels of children (Infinity for all). */
export interface RenderOptions {
  depth: number;
}

/** The node as the protocol shows it, children nested. Defaults are already filled in on spec and policy. */
export function toNodeJson(agent: AgentRecord, nowMs: number, options: RenderOptions = { depth: Infinity }): AgentNodeJson {
  const end = agent.stoppedAtMs ?? nowMs;
  const node: AgentNodeJson = {
    id: agent.id,
    path: agent.path,
    state: agent.state,
    spec: agent.spec,
    policy: agent.policy,
    health: agent.health,
    created_at: new Date(agent.createdAtMs).toISOString(),
    started_at: agent.startedAtMs === null ? null : new Date(agent.startedAtMs).toISOString(),
    uptime: agent.startedAtMs === null ? 0 : Math.max(0, Math.round((end - agent.startedAtMs) / 100) / 10),
    restart_count: agent.restartCount,
    checkpoints: agent.checkpointCount,
    children: [],
  };
  if (agent.suspendReason) node.suspend_reason = agent.suspendReason;
  if (agent.errorMessage) node.error_message = agent.errorMessage;
  if (agent.forkedFrom) node.forked_from = agent.forkedFrom;
  if (options.depth > 0) {
    const next = { depth: options.depth - 1 };
    for (const child of agent.children.values()) node.children.push(toNodeJson(child, nowMs, next));
  } else if (agent.children.size > 0) {
    node.children_count = agent.children.size;
  }
  return node;
}

/**
 * The same node as JSON text, built directly: spec and policy never change after spawn, so their JSON is made
 * once per agent and reused (the pino approach: precompute what the hot path would otherwise redo). For a 10,000
 * agent tree this is most of the bytes. `toNodeJson` stays the reference; tests hold the two equal.
 */
export function renderNode(agent: AgentRecord, nowMs: number, depth = Infinity): string {
  const end = agent.stoppedAtMs ?? nowMs;
  const uptime = agent.startedAtMs === null ? 0 : Math.max(0, Math.round((end - agent.startedAtMs) / 100) / 10);
  let out = `{"id":${JSON.stringify(agent.id)},"path":${JSON.stringify(agent.path)},"state":"${agent.state}"`
    + `,"spec":${cachedJson(agent.spec)},"policy":${cachedJson(agent.policy)},"health":${JSON.stringify(agent.health)}`
    + `,"created_at":"${isoTime(agent.createdAtMs)}","started_at":${agent.startedAtMs === null ? 'null' : `"${isoTime(agent.startedAtMs)}"`}`
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
      out += renderNode(child, nowMs, depth - 1);
      first = false;
    }
  }
  return `${out}]}`;
}

const jsonCache = new WeakMap<object, string>();
function cachedJson(value: object): string {
  let json = jsonCache.get(value);
  if (json === undefined) jsonCache.set(value, (json = JSON.stringify(value)));
  return json;
}

const isoCache = new Map<number, string>();
/** created_at and started_at are rendered on every read; their ISO strings are kept (bounded). */
function isoTime(ms: number): string {
  let iso = isoCache.get(ms);
  if (iso === undefined) {
    if (isoCache.size > 50_000) isoCache.clear();
    isoCache.set(ms, (iso = new Date(ms).toISOString()));
  }
  return iso;
}

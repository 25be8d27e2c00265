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

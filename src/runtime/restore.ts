import type { AgentRecord } from '../domain/agent.js';
import { isActive } from '../domain/states.js';
import type { StoredState } from '../store/store.js';
import type { Runtime } from './runtime.js';

/**
 * Rebuilds the tree from the store: every agent with its state, reason, counters and conversation; the event
 * history for replay, and event numbering continuing where it stopped. Returns the agents whose loops should
 * run again (suspended ones stay suspended).
 */
export function restoreTree(runtime: Runtime, stored: StoredState): { active: AgentRecord[] } {
  const active = insertAgents(runtime, stored.agents);
  // Memory holds only the events loaded; a cursor older than the first of them is answered from the store.
  runtime.bus.history.restore(stored.events, stored.events[0]?.id ?? stored.lastEventId + 1);
  runtime.bus.resumeAfter(stored.lastEventId);
  return { active };
}

/** Puts stored agents (parents first) into the tree; returns those whose loops should run again. */
export function insertAgents(runtime: Runtime, agents: readonly AgentRecord[]): AgentRecord[] {
  const active: AgentRecord[] = [];
  for (const agent of agents) {
    if (agent.parentPath !== null && !runtime.tree.find(agent.parentPath)) continue; // orphan of a purge mid-write
    runtime.tree.insert(agent);
    if (isActive(agent.state)) active.push(agent);
  }
  return active;
}

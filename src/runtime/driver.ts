import type { AgentRecord } from '../domain/agent.js';

/**
 * What the control plane asks of whatever runs agents (the LLM runner in production). Small on purpose:
 * the runtime decides states; the driver only starts, nudges and stops work.
 */
export interface AgentDriver {
  /** The agent became active (spawned, resumed, restarted): start its loop. */
  activate(agent: AgentRecord): void;
  /** Something arrived for an active agent (message, guidance, schedule tick): run a turn if idle. */
  wake(agent: AgentRecord): void;
  /** The agent must stop working now (suspend, terminate): abort any model call in flight. */
  halt(agent: AgentRecord): void;
}

/** A driver that runs nothing: the tree is records only (used where no runner is wanted). */
export const idleDriver: AgentDriver = {
  activate: () => {},
  wake: () => {},
  halt: () => {},
};

/**
 * The agent state machine, as one table: from → the states it may move to.
 * Follows the seed's diagram (spawning → running ⇄ idle, correcting, suspended, terminating → dead), plus:
 * - any live state may move to `terminating` (explicit kill);
 * - `suspended` resumes to `running`;
 * - a restart re-enters `spawning` (like an OTP child re-running init), from any state but the final ones.
 */
export const AGENT_STATES = [
  'spawning', 'running', 'idle', 'correcting', 'suspended', 'terminating', 'dead',
] as const;
export type AgentState = (typeof AGENT_STATES)[number];

export const TRANSITIONS: Readonly<Record<AgentState, readonly AgentState[]>> = {
  spawning: ['running', 'idle', 'suspended', 'terminating'],
  running: ['idle', 'correcting', 'suspended', 'terminating', 'spawning'],
  idle: ['running', 'correcting', 'suspended', 'terminating', 'spawning'],
  correcting: ['running', 'idle', 'suspended', 'terminating', 'spawning'],
  suspended: ['running', 'terminating', 'spawning'],
  terminating: ['dead'],
  dead: [],
};

export function canTransition(from: AgentState, to: AgentState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Alive: not on its way out. */
export function isLive(state: AgentState): boolean {
  return state !== 'terminating' && state !== 'dead';
}

/** Whether the agent's loop should be running (as opposed to paused by an operator or oversight). */
export function isActive(state: AgentState): boolean {
  return state === 'spawning' || state === 'running' || state === 'idle' || state === 'correcting';
}

import { describe, expect, it } from 'vitest';
import { AGENT_STATES, canTransition, isActive, isLive, type AgentState } from '../../src/domain/states.js';

/**
 * The state machine written out independently of src/domain/states.ts, so a change to the table fails here.
 * The seed's diagram, plus: any live state → terminating, suspended → running, and a restart re-entering
 * spawning from any state but the final ones.
 */
const EXPECTED: Record<AgentState, AgentState[]> = {
  spawning: ['running', 'idle', 'suspended', 'terminating'],
  running: ['idle', 'correcting', 'suspended', 'terminating', 'spawning'],
  idle: ['running', 'correcting', 'suspended', 'terminating', 'spawning'],
  correcting: ['running', 'idle', 'suspended', 'terminating', 'spawning'],
  suspended: ['running', 'terminating', 'spawning'],
  terminating: ['dead'],
  dead: [],
};

const LIVE: AgentState[] = ['spawning', 'running', 'idle', 'correcting', 'suspended'];

describe('the state machine', () => {
  it('knows exactly the seven states of the seed', () => {
    expect([...AGENT_STATES].sort()).toEqual(['correcting', 'dead', 'idle', 'running', 'spawning', 'suspended', 'terminating']);
  });

  const pairs = AGENT_STATES.flatMap((from) => AGENT_STATES.map((to) => [from, to, EXPECTED[from].includes(to)] as const));
  it.each(pairs)('%s → %s is allowed: %s', (from, to, allowed) => {
    expect(canTransition(from, to)).toBe(allowed);
  });

  it.each([
    ['spawning', 'running'], ['running', 'idle'], ['idle', 'running'], ['running', 'correcting'],
    ['correcting', 'idle'], ['correcting', 'suspended'], ['suspended', 'terminating'], ['terminating', 'dead'],
  ] as const)('has the seed diagram edge %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
  });

  it.each(LIVE)('lets the live state %s be killed (→ terminating)', (from) => {
    expect(canTransition(from, 'terminating')).toBe(true);
  });

  it('resumes a suspended agent to running', () => {
    expect(canTransition('suspended', 'running')).toBe(true);
  });

  it('never leaves dead, and terminating only goes to dead', () => {
    for (const to of AGENT_STATES) {
      expect(canTransition('dead', to)).toBe(false);
      expect(canTransition('terminating', to)).toBe(to === 'dead');
    }
  });

  it('never moves a state to itself (a repeated suspend is a conflict, not a no-op)', () => {
    for (const state of AGENT_STATES) expect(canTransition(state, state)).toBe(false);
  });

  it.each(AGENT_STATES.map((s) => [s, LIVE.includes(s), ['spawning', 'running', 'idle', 'correcting'].includes(s)] as const))(
    '%s: live %s, active %s', (state, live, active) => {
      expect(isLive(state)).toBe(live);
      expect(isActive(state)).toBe(active);
    },
  );
});

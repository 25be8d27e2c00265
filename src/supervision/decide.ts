import type { AgentPolicy } from '../domain/schemas.js';

/** A failed model run, as supervision sees it. */
export interface Failure {
  path: string;
  /** False for setup problems (no key, bad request) that a restart cannot fix. */
  transient: boolean;
  message: string;
}

export interface SupervisedAgent {
  path: string;
  parentPath: string | null;
  policy: Pick<AgentPolicy, 'restart' | 'max_restarts' | 'supervision'> & Partial<Pick<AgentPolicy, 'restart_window_seconds'>>;
  restartCount: number;
  /** When it was restarted, newest last (the latest max_restarts at least); for restart_window_seconds. */
  restartTimesMs?: readonly number[];
}

/**
 * The restarts that count against max_restarts: with `restart_window_seconds`, those within that many seconds
 * before `nowMs` (OTP's intensity over a period); without it, every restart of the agent's life.
 */
export function restartsCounted(agent: Pick<SupervisedAgent, 'policy' | 'restartCount' | 'restartTimesMs'>, nowMs: number): number {
  const window = agent.policy.restart_window_seconds;
  if (window === null || window === undefined) return agent.restartCount;
  const since = nowMs - window * 1000;
  let n = 0;
  for (const at of agent.restartTimesMs ?? []) if (at > since) n++;
  return n;
}

/** Restart times kept per agent: enough to count any window, however long, against max_restarts (≤ 1000). */
export function keptRestartTimes(times: readonly number[] | undefined, nowMs: number, maxRestarts: number): number[] {
  const kept = [...(times ?? []), nowMs];
  return kept.length > maxRestarts + 1 ? kept.slice(-(maxRestarts + 1)) : kept;
}

export type SupervisionAction =
  | { kind: 'restart'; path: string; delayMs: number; cause: string }
  | { kind: 'suspend'; path: string; message: string };

/** Restart back-off: 1 s, 2 s, 4 s … capped at 60 s, so a crash loop cannot spin. */
export const RESTART_BACKOFF_BASE_MS = 1_000;
export const RESTART_BACKOFF_MAX_MS = 60_000;

export function backoffMs(restartCount: number, baseMs = RESTART_BACKOFF_BASE_MS): number {
  return Math.min(RESTART_BACKOFF_MAX_MS, baseMs * 2 ** restartCount);
}

/**
 * What to do about a failure, as data (the OTP supervisor's decision, kept apart from doing it).
 * The failed agent's `restart` says whether it may be restarted; its parent's `supervision` says how:
 * one_for_one restarts it alone, one_for_all restarts its live siblings too, escalate fails the parent instead.
 */
export function decide(
  failure: Failure,
  lookup: (path: string) => SupervisedAgent | undefined,
  siblingsOf: (agent: SupervisedAgent) => SupervisedAgent[],
  backoffBaseMs = RESTART_BACKOFF_BASE_MS,
  nowMs = Date.now(),
): SupervisionAction[] {
  const agent = lookup(failure.path);
  if (!agent) return [];
  const parent = agent.parentPath === null ? undefined : lookup(agent.parentPath);
  if (parent?.policy.supervision === 'escalate') {
    const escalated = decide({ ...failure, path: parent.path, message: `child ${agent.path} failed: ${failure.message}` }, lookup, siblingsOf, backoffBaseMs, nowMs);
    return [{ kind: 'suspend', path: agent.path, message: `${failure.message} (escalated to ${parent.path})` }, ...escalated];
  }
  if (!failure.transient) return [{ kind: 'suspend', path: agent.path, message: failure.message }];
  if (!mayRestart(agent, nowMs)) return [{ kind: 'suspend', path: agent.path, message: exhausted(agent, failure.message, nowMs) }];
  const restart = (a: SupervisedAgent, cause: string): SupervisionAction =>
    mayRestart(a, nowMs) ? { kind: 'restart', path: a.path, delayMs: backoffMs(restartsCounted(a, nowMs), backoffBaseMs), cause } : { kind: 'suspend', path: a.path, message: exhausted(a, cause, nowMs) };
  const actions = [restart(agent, `failure: ${failure.message}`)];
  if (parent?.policy.supervision === 'one_for_all') {
    for (const sibling of siblingsOf(agent)) actions.push(restart(sibling, `one_for_all: sibling ${agent.path} failed`));
  }
  return actions;
}

function mayRestart(agent: SupervisedAgent, nowMs: number): boolean {
  return agent.policy.restart !== 'never' && restartsCounted(agent, nowMs) < agent.policy.max_restarts;
}

function exhausted(agent: SupervisedAgent, message: string, nowMs: number): string {
  if (agent.policy.restart === 'never') return `${message} (restart policy is never)`;
  const window = agent.policy.restart_window_seconds;
  const within = window === null || window === undefined ? '' : ` within restart_window_seconds ${window}`;
  return `${message} (gave up after ${restartsCounted(agent, nowMs)} of max_restarts ${agent.policy.max_restarts} restarts${within})`;
}

/** Oversight suspensions that a restart from the latest checkpoint can cure: it rolls back what went wrong. */
const CURABLE_BY_RESTART = new Set(['loop_detected', 'drift_detected']);

/**
 * `restart: always` also covers runs that oversight ended: an agent suspended for a loop or for drift is restarted
 * from its latest checkpoint (within max_restarts, after the back-off). Budget suspensions are left alone (a
 * restart cannot give back tokens), and so is anything an operator did.
 */
export function decideAfterOversight(agent: SupervisedAgent, reason: string, backoffBaseMs = RESTART_BACKOFF_BASE_MS, nowMs = Date.now()): SupervisionAction | null {
  if (agent.policy.restart !== 'always' || !CURABLE_BY_RESTART.has(reason) || !mayRestart(agent, nowMs)) return null;
  return { kind: 'restart', path: agent.path, delayMs: backoffMs(restartsCounted(agent, nowMs), backoffBaseMs), cause: `always: oversight suspended it (${reason})` };
}

import type { AgentRecord } from '../domain/agent.js';
import { DomainError } from '../domain/errors.js';
import { isActive } from '../domain/states.js';
import { describeFailure, isTransient } from '../model/client.js';
import type { Runtime } from '../runtime/runtime.js';
import { decide, decideAfterOversight, type SupervisionAction } from './decide.js';

/**
 * Applies supervision decisions: restarts after their back-off, suspends with `execution_error`. Every decision
 * is a `supervision` event on the agent's stream and log.
 */
export class Supervisor {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly runtime: Runtime, private readonly backoffBaseMs: number) {
    runtime.bus.addSink((event) => {
      if (event.type !== 'suspended' || event.data.by !== 'oversight') return;
      const agent = runtime.tree.find(event.path);
      const action = agent && decideAfterOversight(agent, String(event.data.reason), this.backoffBaseMs, runtime.clock());
      // After the suspension has finished being recorded, not in the middle of it.
      if (action) queueMicrotask(() => agent.state === 'suspended' && this.apply(action));
    });
  }

  /** The runner's failure hook. */
  onFailure = (agent: AgentRecord, error: unknown): void => {
    const failure = { path: agent.path, transient: isTransient(error), message: describeFailure(error).replace('{path}', agent.path) };
    const actions = decide(failure, (p) => this.runtime.tree.find(p), (a) => this.siblings(a), this.backoffBaseMs, this.runtime.clock());
    for (const action of actions) this.apply(action);
  };

  /** After a daemon restart: an agent that was waiting out a back-off waits for what is left of it. */
  resumeBackoff(agent: AgentRecord): void {
    const wait = (agent.restartAtMs ?? 0) - this.runtime.clock();
    if (wait > 0) this.later(() => this.runtime.finishRestart(agent), wait);
    else this.runtime.finishRestart(agent);
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private siblings(agent: { path: string; parentPath: string | null }): AgentRecord[] {
    const all = agent.parentPath === null ? this.runtime.tree.roots : this.runtime.tree.get(agent.parentPath).children;
    return [...all.values()].filter((s) => s.path !== agent.path && isActive(s.state));
  }

  private apply(action: SupervisionAction): void {
    const agent = this.runtime.tree.find(action.path);
    if (!agent) return;
    this.runtime.emit(agent, 'supervision', { ...action });
    if (action.kind === 'suspend') {
      if (agent.state !== 'suspended' && agent.state !== 'dead' && agent.state !== 'terminating') {
        this.runtime.suspend(agent.path, 'execution_error', action.message, { by: 'supervision' });
      }
      return;
    }
    const restarting = this.runtime.restart(agent.path, { by: 'supervision', cause: action.cause, delayMs: action.delayMs, schedule: (fn, ms) => this.later(fn, ms) });
    restarting.catch((error: unknown) => {
      // Reached from a failure or a timer: a refusal is recorded, never thrown.
      const detail = error instanceof DomainError || error instanceof Error ? error.message : String(error);
      if (this.runtime.tree.find(agent.path) === agent) this.runtime.emit(agent, 'supervision', { kind: 'restart_refused', path: agent.path, detail });
    });
  }

  private later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      try {
        fn();
      } catch { /* a timer must never crash the daemon; what it started records its own failure */ }
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }
}

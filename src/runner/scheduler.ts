import { withinSubtree } from '../domain/subtree-path.js';
import { Cron } from 'croner';
import type { AgentRecord } from '../domain/agent.js';
import { badRequest } from '../domain/errors.js';
import type { AgentEvent } from '../events/types.js';
import type { Runtime } from '../runtime/runtime.js';

/** Refuses a schedule croner cannot parse (5 fields, or 6 with seconds first). */
export function validateSchedule(schedule: string | null): void {
  if (schedule === null) return;
  try {
    new Cron(schedule, { mode: '5-or-6-parts', paused: true }).stop();
  } catch (error) {
    throw badRequest(`spec.schedule: not a cron expression (${error instanceof Error ? error.message : 'invalid'})`);
  }
}

/**
 * Wakes scheduled agents. A tick that finds the agent idle wakes it; a tick that finds it busy is skipped, not
 * queued. Jobs follow the tree through its events, so schedules come back with the tree after a restart.
 */
export class Scheduler {
  private readonly jobs = new Map<string, Cron>();
  /** Ticks skipped in a row, per agent: only the first of a streak is logged (a suspended agent ticking every second
   * would otherwise log forever); the tick that wakes it again says how many were skipped. */
  private readonly skipped = new Map<string, number>();

  constructor(private readonly runtime: Runtime) {}

  /** Starts jobs for the agents already in the tree and follows spawns and terminations from then on. */
  start(): void {
    for (const agent of this.runtime.tree.all()) this.follow(agent);
    this.runtime.bus.addSink((event) => this.onEvent(event));
  }

  stop(): void {
    for (const job of this.jobs.values()) job.stop();
    this.jobs.clear();
  }

  /** A subtree taken over from another daemon: its schedules run here from now on. */
  followSubtree(root: AgentRecord): void {
    for (const agent of this.runtime.tree.postOrder(root)) this.follow(agent);
  }

  /** A subtree now another daemon's: its schedules stop here. */
  dropSubtree(root: string): void {
    for (const [path, job] of this.jobs) {
      if (!withinSubtree(path, root)) continue;
      job.stop();
      this.jobs.delete(path);
      this.skipped.delete(path);
    }
  }

  private onEvent(event: AgentEvent): void {
    if (event.type === 'spawned') {
      const agent = this.runtime.tree.find(event.path);
      if (agent) this.follow(agent);
    } else if (event.type === 'terminated' || event.type === 'purged') {
      this.jobs.get(event.path)?.stop();
      this.jobs.delete(event.path);
      this.skipped.delete(event.path);
    }
  }

  private follow(agent: AgentRecord): void {
    const { schedule } = agent.spec;
    if (schedule === null || agent.state === 'dead' || this.jobs.has(agent.path)) return;
    const job = new Cron(schedule, { mode: '5-or-6-parts', unref: true }, () => this.tick(agent));
    this.jobs.set(agent.path, job);
  }

  private tick(agent: AgentRecord): void {
    if (agent.state !== 'idle') return this.skip(agent, { state: agent.state });
    try {
      this.runtime.enqueue(agent, { kind: 'message', content: `Scheduled wake-up (${agent.spec.schedule}). Continue working towards your goal.`, from: 'scheduler' });
    } catch (error) {
      // A full inbox (or a store refusing writes) skips this tick; a timer must never throw.
      return this.skip(agent, { state: agent.state, detail: error instanceof Error ? error.message : String(error) });
    }
    const skipped = this.skipped.get(agent.path) ?? 0;
    this.skipped.delete(agent.path);
    this.runtime.emit(agent, 'schedule_tick', skipped > 0 ? { skipped } : {});
    this.runtime.wake(agent);
  }

  private skip(agent: AgentRecord, data: Record<string, unknown>): void {
    const streak = (this.skipped.get(agent.path) ?? 0) + 1;
    this.skipped.set(agent.path, streak);
    if (streak === 1) this.runtime.emit(agent, 'schedule_skipped', data);
  }
}

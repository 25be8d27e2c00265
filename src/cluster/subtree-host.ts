import type { ApprovalRegistry } from '../approvals/registry.js';
import type { AgentRunner } from '../runner/runner.js';
import { insertAgents } from '../runtime/restore.js';
import type { Runtime } from '../runtime/runtime.js';
import type { PgStore } from '../store/pg/pg-store.js';
import { backfillSubtreeSpend } from '../subtree/spend.js';
import type { Supervisor } from '../supervision/supervisor.js';
import type { Scheduler } from '../runner/scheduler.js';
import type { SubtreeHost } from './node.js';

export interface HostParts {
  runtime: Runtime;
  store: PgStore;
  approvals: ApprovalRegistry;
  runner: AgentRunner;
  supervisor: Supervisor;
  scheduler: Scheduler;
}

/**
 * What taking over and giving up a subtree means for this daemon's engines. Adopting loads it from the database as a
 * start-up would (its agents, inboxes, contexts of those with work, checkpoints, pending approvals) and starts what
 * was running: a restart waiting out its back-off waits for what is left of it; schedules run here. Dropping halts
 * its agents at once and forgets it: memory, queued writes (refused at commit), approvals, schedules, open streams.
 */
export function subtreeHost(parts: () => HostParts): SubtreeHost {
  return {
    async adopt(roots, eventIdBlock) {
      const { runtime, store, approvals, runner, supervisor, scheduler } = parts();
      runtime.bus.jumpToBlock(eventIdBlock); // above every id the previous owner handed out
      const loaded = await store.loadSubtrees(roots);
      const active = insertAgents(runtime, loaded.agents.filter((a) => !runtime.tree.find(a.path)));
      approvals.restore(loaded.approvals);
      backfillSubtreeSpend(runtime.tree);
      for (const root of roots) {
        const agent = runtime.tree.find(root);
        if (agent) scheduler.followSubtree(agent);
      }
      for (const agent of active) {
        if (agent.state === 'spawning') supervisor.resumeBackoff(agent);
        else if (agent.contextLoaded) runner.activate(agent); // an idle agent with nothing waiting rests until woken
      }
    },
    drop(root) {
      const { runtime, store, approvals, runner, scheduler } = parts();
      const agent = runtime.tree.find(root);
      if (agent) {
        for (const each of runtime.tree.postOrder(agent)) runner.halt(each);
        runtime.tree.remove(agent);
      }
      approvals.forgetSubtree(root);
      scheduler.dropSubtree(root);
      store.unloadSubtree(root);
      runtime.bus.endSubtree(root);
    },
    load: () => parts().runtime.tree.size,
  };
}

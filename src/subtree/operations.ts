import { randomBytes } from 'node:crypto';
import type { AgentRecord, Checkpoint } from '../domain/agent.js';
import { conflict, policyViolation } from '../domain/errors.js';
import type { SuspendReason } from '../domain/schemas.js';
import { canTransition, isLive } from '../domain/states.js';
import type { Actor, Runtime } from '../runtime/runtime.js';
import type { HistoryRow } from '../store/store.js';
import { restartsCounted } from '../supervision/decide.js';

/** What a subtree operation did: every agent it changed, in the order it changed them. */
export interface SubtreeResult {
  agents: AgentRecord[];
}

/** The subtree parents first (pre-order): the order resumes, restarts and forks go in. */
export function preOrder(root: AgentRecord): AgentRecord[] {
  const out: AgentRecord[] = [];
  const visit = (node: AgentRecord) => {
    out.push(node);
    for (const child of node.children.values()) visit(child);
  };
  visit(root);
  return out;
}

/**
 * Operations on an agent and every live descendant in one request (`?subtree=true`). Each checks every agent first
 * and then acts on all of them in one synchronous pass, so an answer is all or nothing and no model call can land
 * in between: suspends go children first (nothing keeps running under a stopped parent), resumes parents first.
 * Agents already in the target state, and dead ones, are left as they are and not listed.
 */
export class SubtreeOps {
  constructor(private readonly runtime: Runtime) {}

  suspend(path: string, reason: SuspendReason, detail: string | undefined, actor: Actor): SubtreeResult {
    const root = this.runtime.get(path);
    const targets = this.runtime.tree.postOrder(root).filter((a) => a.state !== 'suspended' && canTransition(a.state, 'suspended'));
    if (targets.length === 0) throw conflict(`no agent in the subtree of ${path} can be suspended (each is suspended, terminating or dead)`);
    for (const agent of targets) this.runtime.suspend(agent.path, reason, detail, actor);
    return { agents: targets };
  }

  resume(path: string, guidance: string | undefined, actor: Actor): SubtreeResult {
    const root = this.runtime.get(path);
    const targets = preOrder(root).filter((a) => a.state === 'suspended');
    if (targets.length === 0) throw conflict(`no agent in the subtree of ${path} is suspended`);
    for (const agent of targets) this.runtime.resume(agent.path, guidance, actor);
    return { agents: targets };
  }

  /**
   * One consistent cut: every live agent checkpointed in the same pass of the event loop, each at what its last
   * completed turn left (the runner appends a turn only once it is whole), all marked with the same `cut`.
   */
  checkpoint(path: string, label: string | undefined, actor: Actor): { cut: string; checkpoints: Checkpoint[] } {
    const root = this.runtime.get(path);
    if (!isLive(root.state)) throw conflict(`agent ${path} is ${root.state}; a subtree checkpoint starts at a live agent`);
    const cut = `cut-${randomBytes(6).toString('hex')}`;
    const checkpoints = preOrder(root).filter((a) => isLive(a.state)).map((a) => this.runtime.checkpoint(a.path, label, actor, cut));
    return { cut, checkpoints };
  }

  /** Restarts every live agent, parents first, after checking that none is past max_restarts. */
  async restart(path: string, actor: Actor): Promise<SubtreeResult> {
    const root = this.runtime.get(path);
    const targets = preOrder(root).filter((a) => isLive(a.state));
    if (targets.length === 0) throw conflict(`agent ${path} is ${root.state}; only live agents restart`);
    const nowMs = this.runtime.clock();
    for (const agent of targets) {
      const counted = restartsCounted(agent, nowMs);
      if (counted >= agent.policy.max_restarts) {
        throw policyViolation(`max_restarts: ${agent.path} has been restarted ${counted} of ${agent.policy.max_restarts} times; nothing in the subtree was restarted`);
      }
    }
    const done: AgentRecord[] = [];
    for (const agent of targets) done.push(await this.runtime.restart(agent.path, actor));
    return { agents: done };
  }

  /**
   * Copies the subtree from one cut: the root's checkpoint (the latest, or the one named) must come from a subtree
   * checkpoint; every descendant that has a checkpoint of the same cut is recreated under the copy with its own id,
   * each with `forked_from`. Everything is read first; if a limit stops it half way, the copy is purged again.
   */
  async fork(path: string, options: { id?: string; checkpoint?: string }, actor: Actor): Promise<SubtreeResult> {
    const source = this.runtime.get(path);
    const rootCheckpoint = await this.runtime.findCheckpoint(source, options.checkpoint);
    if (!rootCheckpoint) throw policyViolation(`agent ${path} has no checkpoint to fork from; POST ${path}/checkpoint?subtree=true first`);
    const cut = rootCheckpoint.cut;
    if (!cut) throw policyViolation(`checkpoint ${rootCheckpoint.id} of ${path} is not part of a subtree checkpoint; POST ${path}/checkpoint?subtree=true first`);
    const parts: Array<{ source: AgentRecord; checkpoint: Checkpoint; rows: HistoryRow[] }> = [];
    const included = new Set<string>();
    for (const agent of preOrder(source)) {
      if (agent !== source && !included.has(agent.parentPath!)) continue; // its parent is not in the cut
      const checkpoint = agent === source ? rootCheckpoint : (await this.runtime.checkpoints(agent.path)).find((c) => c.cut === cut);
      if (!checkpoint) continue; // spawned after the cut
      parts.push({ source: agent, checkpoint, rows: await this.runtime.store.checkpointContext(checkpoint) });
      included.add(agent.path);
    }
    // Re-read after the awaits: the tree may have changed meanwhile.
    if (this.runtime.tree.find(path) !== source) throw conflict(`agent ${path} was replaced while forking; try again`);
    const rootId = options.id ?? this.runtime.tree.uniqueId(source.parentPath, `${source.id}-fork`);
    const copyOf = new Map<string, string>(); // source path → copy path
    const created: AgentRecord[] = [];
    try {
      for (const part of parts) {
        const parentPath = part.source === source ? source.parentPath : copyOf.get(part.source.parentPath!)!;
        const id = part.source === source ? rootId : part.source.id;
        const copy = this.runtime.forkInto(parentPath, id, part.source, part.checkpoint, part.rows, actor);
        copyOf.set(part.source.path, copy.path);
        created.push(copy);
      }
    } catch (error) {
      if (created[0]) this.runtime.terminate(created[0].path, { purge: true, by: actor.by, reason: 'subtree fork stopped half way' });
      throw error;
    }
    return { agents: created };
  }
}

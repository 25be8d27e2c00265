import type { AgentRecord } from './agent.js';
import { badRequest, conflict, notFound, policyViolation } from './errors.js';
import { ACTION_WORDS, LIMITS } from './limits.js';
import { isLive } from './states.js';

const ACTIONS: ReadonlySet<string> = new Set(ACTION_WORDS);

/**
 * The path-addressed tree: lookup by path in O(1), roots in spawn order, spawn limits, cascade order.
 */
export class AgentTree {
  private readonly byPath = new Map<string, AgentRecord>();
  readonly roots = new Map<string, AgentRecord>();
  /**
   * Per parent path, how many of its children are terminating or dead. Leaving is one-way (the state table has
   * no way back from `terminating`), so live children = children − departed.
   */
  private readonly departedChildren = new Map<string, number>();

  get size(): number {
    return this.byPath.size;
  }

  find(path: string): AgentRecord | undefined {
    return this.byPath.get(path);
  }

  get(path: string): AgentRecord {
    const agent = this.byPath.get(path);
    if (!agent) throw notFound(`agent ${path}`);
    return agent;
  }

  all(): IterableIterator<AgentRecord> {
    return this.byPath.values();
  }

  /** Ancestors from the parent up to the root. */
  *ancestors(agent: AgentRecord): Generator<AgentRecord> {
    let path = agent.parentPath;
    while (path !== null) {
      const ancestor = this.get(path);
      yield ancestor;
      path = ancestor.parentPath;
    }
  }

  /**
   * Refuses a spawn that breaks a limit. `max_depth` bounds a whole subtree: for every ancestor A of the new agent,
   * its depth below A must be less than A's max_depth, i.e. max_depth counts the levels of A's subtree, A included:
   * a root with max_depth 2 may have children but no grandchildren. (The seed checked only the parent's, so a deep
   * policy further down could escape a shallow one above.)
   */
  checkSpawn(parentPath: string | null, id: string): AgentRecord | null {
    const siblings = parentPath === null ? this.roots : this.get(parentPath).children;
    const path = parentPath === null ? id : `${parentPath}/${id}`;
    if (path.length > LIMITS.pathMaxLength) throw badRequest(`path longer than ${LIMITS.pathMaxLength} characters`);
    if (siblings.has(id)) throw conflict(`an agent ${path} already exists`);
    if (parentPath === null) return null;
    const parent = this.get(parentPath);
    if (!isLive(parent.state)) throw conflict(`parent ${parent.path} is ${parent.state}; it cannot have new children`);
    const liveChildren = this.liveChildCount(parent);
    if (liveChildren >= parent.policy.max_children) {
      throw policyViolation(`max_children: ${parent.path} already has ${liveChildren} of ${parent.policy.max_children} children`);
    }
    const newDepth = parent.depth + 1;
    for (const ancestor of [parent, ...this.ancestors(parent)]) {
      const below = newDepth - ancestor.depth;
      if (below >= ancestor.policy.max_depth) {
        throw policyViolation(
          `max_depth: ${path} would be ${below} levels below ${ancestor.path}, whose max_depth is ${ancestor.policy.max_depth}`, 'max_depth',
        );
      }
    }
    return parent;
  }

  insert(agent: AgentRecord): void {
    const siblings = agent.parentPath === null ? this.roots : this.get(agent.parentPath).children;
    siblings.set(agent.id, agent);
    this.byPath.set(agent.path, agent);
    if (!isLive(agent.state)) this.countDeparted(agent, 1);
  }

  /** Removes an agent and its whole subtree. */
  remove(agent: AgentRecord): void {
    for (const child of [...agent.children.values()]) this.remove(child);
    const siblings = agent.parentPath === null ? this.roots : this.find(agent.parentPath)?.children;
    siblings?.delete(agent.id);
    this.byPath.delete(agent.path);
    if (!isLive(agent.state)) this.countDeparted(agent, -1);
    this.departedChildren.delete(agent.path);
  }

  /** To be called as an agent moves to `terminating` (its parent has one live child fewer). */
  departing(agent: AgentRecord): void {
    this.countDeparted(agent, 1);
  }

  /** Children not on their way out. O(1): spawn checks it, under parents with thousands of children. */
  liveChildCount(parent: AgentRecord): number {
    return parent.children.size - (this.departedChildren.get(parent.path) ?? 0);
  }

  private countDeparted(agent: AgentRecord, delta: number): void {
    if (agent.parentPath === null) return;
    this.departedChildren.set(agent.parentPath, (this.departedChildren.get(agent.parentPath) ?? 0) + delta);
  }

  /** The subtree in post-order: children before their parent, the order terminations cascade in. */
  postOrder(agent: AgentRecord): AgentRecord[] {
    const out: AgentRecord[] = [];
    const visit = (node: AgentRecord) => {
      for (const child of node.children.values()) visit(child);
      out.push(node);
    };
    visit(agent);
    return out;
  }

  /**
   * A fresh id not yet used among the siblings: `base`, `base-2`, `base-3`, … An action word is never free
   * (a child called `log` would be unreachable behind its parent's `/log`).
   */
  uniqueId(parentPath: string | null, base: string): string {
    const siblings = parentPath === null ? this.roots : this.get(parentPath).children;
    const stem = base.slice(0, LIMITS.idMaxLength - 6);
    if (!siblings.has(stem) && !ACTIONS.has(stem)) return stem;
    for (let n = 2; ; n++) if (!siblings.has(`${stem}-${n}`)) return `${stem}-${n}`;
  }
}

import type { AgentRecord } from './agent.js';
import { policyViolation } from './errors.js';
import type { AgentTree } from './tree.js';

/** A scope's quota and the key that set it (named in the refusal, so the tenant knows which limit it hit). */
interface Quota {
  quota: number;
  keyName: string;
}

/**
 * Per-scope agent quotas (`quota=N` on a scoped key in AUTON_API_KEYS): the most agents the subtree below a scope's
 * agent may hold, dead ones included until they are purged. Checked at every spawn and fork,
 * whoever asks (an HTTP client or an agent's spawn_child), so one tenant cannot fill AUTON_MAX_AGENTS for all.
 */
export class ScopeQuotas {
  private readonly byScope = new Map<string, Quota>();

  constructor(keys: Iterable<{ name: string; scope: string | null; quota?: number }>) {
    for (const { name, scope, quota } of keys) {
      if (scope === null || quota === undefined) continue;
      const known = this.byScope.get(scope);
      // Two keys on one scope: the tighter quota holds.
      if (!known || quota < known.quota) this.byScope.set(scope, { quota, keyName: name });
    }
  }

  get size(): number {
    return this.byScope.size;
  }

  /** Refuses (a policy violation, 422) a new agent at `path` that would take a scope above its quota. */
  checkSpawn(tree: AgentTree, path: string): void {
    if (this.byScope.size === 0) return;
    // Every scope strictly above the new agent: the scope's own agent is made by an unscoped key and not counted.
    for (let end = path.indexOf('/'); end !== -1; end = path.indexOf('/', end + 1)) {
      const scope = path.slice(0, end);
      const limit = this.byScope.get(scope);
      const top = limit && tree.find(scope);
      if (!limit || !top) continue;
      const held = countUpTo(top, limit.quota + 1) - 1;
      if (held >= limit.quota) {
        throw policyViolation(
          `quota: scope ${scope} already holds ${held} agents, dead ones included, and its quota is ${limit.quota} ` +
          `(quota=${limit.quota} on key ${limit.keyName}); purge dead agents (DELETE …?purge=true) to make room`,
        );
      }
    }
  }
}

/** The agents in a subtree, counted no further than `limit` (a spawn check need not walk a big subtree whole). */
function countUpTo(top: AgentRecord, limit: number): number {
  let count = 0;
  const stack = [top];
  while (stack.length > 0 && count < limit) {
    const agent = stack.pop()!;
    count += 1;
    for (const child of agent.children.values()) stack.push(child);
  }
  return count;
}

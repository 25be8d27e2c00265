import type { AgentRecord } from '../domain/agent.js';
import type { AgentTree } from '../domain/tree.js';
import { roundUsd } from '../usage/usage.js';

/**
 * Subtree spend: every agent's health carries `subtree_tokens_total` and `subtree_cost_usd`, the sums over itself and
 * all its descendants. Kept incrementally (each model call adds its usage to the caller and each ancestor: O(depth),
 * never a walk of the tree) and stored with each record, so a daemon restart reads them back as they were. Nothing
 * ever subtracts: a dead agent's spend stays in its ancestors' sums, and so does a purged one's (the sums were added
 * before the purge and purging removes only the records), so spending cannot be laundered by purging.
 */
export function addSubtreeSpend(
  tree: AgentTree, agent: AgentRecord, tokens: number, costUsd: number | null, save: (agent: AgentRecord) => void,
): void {
  const cost = costUsd ?? 0; // a model without a price adds nothing here (its agent's own cost_usd says null)
  let node: AgentRecord | undefined = agent;
  while (node !== undefined) {
    const h = node.health;
    h.subtree_tokens_total = (h.subtree_tokens_total ?? h.tokens_total) + tokens;
    h.subtree_cost_usd = roundUsd((h.subtree_cost_usd ?? h.cost_usd ?? 0) + cost);
    if (node !== agent) save(node); // the caller's own record is saved by whoever recorded the call
    node = node.parentPath === null ? undefined : tree.find(node.parentPath);
  }
}

/**
 * Fills the sums of records stored before they existed, from the agents still in the tree (what a purge removed
 * before then is not known). Run once after the tree is restored; a record that has its sums keeps them.
 */
export function backfillSubtreeSpend(tree: AgentTree): void {
  const missing = (a: AgentRecord) => a.health.subtree_tokens_total === undefined || a.health.subtree_cost_usd === undefined;
  let any = false;
  for (const agent of tree.all()) if (missing(agent)) any = true;
  if (!any) return;
  const visit = (agent: AgentRecord): { tokens: number; cost: number } => {
    let tokens = agent.health.tokens_total;
    let cost = agent.health.cost_usd ?? 0;
    for (const child of agent.children.values()) {
      const sub = visit(child);
      tokens += sub.tokens;
      cost += sub.cost;
    }
    if (missing(agent)) {
      agent.health.subtree_tokens_total = tokens;
      agent.health.subtree_cost_usd = roundUsd(cost);
    }
    return { tokens: agent.health.subtree_tokens_total ?? tokens, cost: agent.health.subtree_cost_usd ?? cost };
  };
  for (const root of tree.roots.values()) visit(root);
}

/** The agent itself, then its parent, up to its root (a plain loop: this runs before every model call). */
export function selfAndAncestors(tree: AgentTree, agent: AgentRecord): AgentRecord[] {
  const line = [agent];
  let node = agent;
  while (node.parentPath !== null) {
    const parent = tree.find(node.parentPath);
    if (parent === undefined) break;
    line.push((node = parent));
  }
  return line;
}

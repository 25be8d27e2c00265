import type { AgentRecord } from '../domain/agent.js';
import { checkNoLooserRules } from '../domain/approval-rules.js';
import { badRequest, conflict } from '../domain/errors.js';
import { policySchema, type AgentPolicy, type PolicyPatch } from '../domain/schemas.js';
import { isLive } from '../domain/states.js';
import { actorData, type Actor } from './actor.js';
import type { Runtime } from './runtime.js';

/**
 * PATCH `{policy}` on a live agent: the patch is merged over the current policy (budget fields one by one),
 * validated as at spawn, and takes effect at the next check that reads it (a budget at the next model call or
 * oversight pass, an approval rule at the next tool call, restart settings at the next failure). Audited as a
 * `policy_changed` event with who changed what.
 */
export function changePolicy(runtime: Runtime, path: string, patch: PolicyPatch, actor: Actor = {}): AgentRecord {
  const agent = runtime.get(path);
  if (!isLive(agent.state)) throw conflict(`agent ${path} is ${agent.state}; only a live agent's policy can change`);
  runtime.store.assertWritable();
  const parsed = policySchema.safeParse({ ...agent.policy, ...patch, budget: { ...agent.policy.budget, ...patch.budget } });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badRequest(`policy.${issue.path.join('.')}: ${issue.message}`);
  }
  const policy = parsed.data;
  const parent = agent.parentPath === null ? undefined : runtime.tree.find(agent.parentPath);
  checkNoLooserRules(policy.approvals, parent, (a) => (a.parentPath === null ? undefined : runtime.tree.find(a.parentPath)));
  const changed = changedFields(agent.policy, policy);
  if (changed.length === 0) return agent;
  const from: Record<string, unknown> = {};
  const to: Record<string, unknown> = {};
  for (const field of changed) {
    from[field] = agent.policy[field];
    to[field] = policy[field];
  }
  agent.policy = policy; // a new object: rendered nodes cache the policy's JSON by identity
  runtime.emit(agent, 'policy_changed', { changed, from, to, ...actorData(actor) });
  runtime.save(agent);
  return agent;
}

function changedFields(before: AgentPolicy, after: AgentPolicy): Array<keyof AgentPolicy> {
  return (Object.keys(after) as Array<keyof AgentPolicy>).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
}

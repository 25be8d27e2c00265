import { setTimeout as delay } from 'node:timers/promises';
import { callOwner, type OwnerAnswer } from '../../cluster/forward.js';
import type { ClusterNode } from '../../cluster/node.js';
import { rootOf } from '../../domain/subtree-path.js';
import { agentPath } from '../../http/agent-paths.js';
import { FAILOVER_GRACE_MS, RETRY_EVERY_MS, routeOrRefuse } from '../../http/cluster-routing.js';
import { HttpError } from '../../http/errors.js';
import type { Runtime } from '../../runtime/runtime.js';
import { idFromGoal } from '../../runtime/ids.js';

/**
 * Several daemons (docs/scale-out.md): a tool about a subtree another daemon owns runs there, as the tool's HTTP
 * route, sent with the caller's key (the owner checks it again) the way `src/http/cluster-routing.ts` forwards
 * requests. The owner's answer is the tool's answer: each tool answers the same JSON as its route.
 */
export interface OwnerCall {
  /** The agent the tool is about; its root decides where it runs. */
  path: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  body?: Record<string, unknown>;
  /** A root spawn: placed on the least loaded daemon, as `POST /agents` is. */
  spawning?: boolean;
}

export interface OwnerContext {
  runtime: Runtime;
  cluster: ClusterNode;
  /** The caller's Authorization header, passed on as cluster routing passes it. */
  authorization?: string;
}

type Args = Record<string, unknown>;
const at = (path: unknown) => `/agents/${encodeURIComponent(agentPath(String(path)))}`;
function without(args: Args, ...names: string[]): Args {
  const rest = { ...args };
  for (const name of names) delete rest[name];
  return rest;
}
const action = (name: string) => (args: Args): OwnerCall => ({ path: agentPath(String(args.path)), method: 'POST', url: `${at(args.path)}/${name}`, body: without(args, 'path') });
function query(pairs: Record<string, unknown>): string {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(pairs)) if (value !== undefined) q.set(name, String(value));
  const text = q.toString();
  return text ? `?${text}` : '';
}

/** Each tool's HTTP route, by tool name; null: the tool is about no one subtree (it runs here). */
export const OWNER_CALLS: Record<string, (args: Args, scope: string | null, runtime: Runtime) => OwnerCall | null> = {
  get_agent: (a) => ({ path: agentPath(String(a.path)), method: 'GET', url: at(a.path) + query({ depth: a.depth }) }),
  spawn_agent: (a, _scope, runtime) => {
    const body = without(a, 'parent');
    if (typeof a.parent === 'string') return { path: agentPath(a.parent), method: 'POST', url: at(a.parent), body };
    // Named here, so the daemon that spawns it and this one agree on the name (the local run uses it too).
    a.id ??= runtime.tree.uniqueId(null, idFromGoal((a.spec as { goal: string }).goal));
    return { path: String(a.id), method: 'POST', url: '/agents', body: { ...body, id: a.id }, spawning: true };
  },
  message_agent: action('message'),
  guide_agent: (a) => ({ path: agentPath(String(a.path)), method: 'PATCH', url: at(a.path), body: without(a, 'path') }),
  suspend_agent: action('suspend'),
  resume_agent: action('resume'),
  checkpoint_agent: action('checkpoint'),
  fork_agent: action('fork'),
  restart_agent: action('restart'),
  terminate_agent: (a) => ({ path: agentPath(String(a.path)), method: 'DELETE', url: at(a.path) + query({ purge: a.purge, reason: a.reason }) }),
  // The agent's existence and the key are checked by its owner; the log itself is read from the shared store.
  read_log: (a) => ({ path: agentPath(String(a.path)), method: 'GET', url: at(a.path) + query({ depth: 0 }) }),
  list_approvals: (a, scope) => {
    const path = typeof a.path === 'string' ? agentPath(a.path) : scope;
    return path === null ? null : { path, method: 'GET', url: `/approvals${query({ path })}` };
  },
  decide_approval: (a) => ({
    path: agentPath(String(a.path)), method: 'POST', url: `${at(a.path)}/approvals/${encodeURIComponent(String(a.id))}`, body: without(a, 'path', 'id'),
  }),
};

/**
 * Runs the call on the daemon owning its subtree, when that is not this one: the owner's answer body (a 2xx), or
 * an HttpError with the owner's status and message. Null when the subtree is served here (owned here, taken over
 * now, or owned by no one: the tool then runs here and answers as it would alone). Like HTTP routing, a request
 * about a subtree whose owner just died waits for the takeover (at most TTL + FAILOVER_GRACE_MS), and a write the
 * owner took and did not answer is never sent again: a 502 or 504 saying the outcome is unknown.
 */
export async function runOnOwner(ctx: OwnerContext, call: OwnerCall): Promise<string | null> {
  const { cluster, runtime } = ctx;
  const root = rootOf(call.path);
  const deadline = runtime.clock() + cluster.ttlMs + FAILOVER_GRACE_MS;
  for (;;) {
    const route = await routeOrRefuse(() => cluster.route(root, call.spawning === true), runtime);
    if (route.kind === 'local') return null;
    let why = route.kind === 'unavailable' ? route.message : '';
    if (route.kind === 'forward') {
      const answer = await callOwner({
        method: call.method, url: call.url,
        headers: ctx.authorization === undefined ? {} : { authorization: ctx.authorization },
        ...(call.body ? { body: Buffer.from(JSON.stringify(call.body)) } : {}),
      }, route, cluster.owner, cluster.metrics, cluster.ttlMs + FAILOVER_GRACE_MS);
      if (answer.kind === 'answered') return answerOf(answer);
      cluster.forgetRoute(root);
      if (answer.kind === 'unknown') throw new HttpError(answer.status, answer.message);
      why = answer.why;
    }
    const left = deadline - runtime.clock();
    if (left <= 0) throw new HttpError(503, `no daemon can serve ${root} now: ${why}; try again in a few seconds`);
    await delay(Math.min(RETRY_EVERY_MS, left));
  }
}

/** Which daemon serves the subtree of `path` when it is not this one (for what cannot be forwarded). */
export async function remoteOwner(cluster: ClusterNode, runtime: Runtime, path: string): Promise<{ owner: string; address: string } | null> {
  const route = await routeOrRefuse(() => cluster.route(rootOf(path), false), runtime);
  return route.kind === 'forward' ? { owner: route.owner, address: route.address } : null;
}

function answerOf(answer: Extract<OwnerAnswer, { kind: 'answered' }>): string {
  if (answer.status >= 200 && answer.status < 300) return answer.body;
  let message = answer.body;
  try {
    const parsed = JSON.parse(answer.body) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not the owner's JSON error body (a proxy's page, say): its text is the message
  }
  throw new HttpError(answer.status, message);
}

import { withinSubtree } from '../../domain/subtree-path.js';
import type { AgentEvent } from '../../events/types.js';

/**
 * Who may do what, as pure functions of a principal (the key that signed the request) and what a route needs.
 * Status codes are chosen here because they are part of the contract: outside its scope a key gets the same 404
 * as for an agent that does not exist, so it cannot probe which agents do; inside its scope a read-only key
 * gets 403, since it can already see the agent and a 404 would only confuse.
 */
export const ROLES = ['admin', 'operator', 'read'] as const;
/** `read`: GET and SSE. `operator`: every change, purging dead agents included. `admin`: purging live ones too. */
export type Role = (typeof ROLES)[number];

export interface Principal {
  /** The key's name: the `by` of every change it makes, and its rate-limit bucket. */
  name: string;
  /** The subtree it may see and act on (an agent path), or null for the whole tree. */
  scope: string | null;
  role: Role;
}

/** With no keys configured, every request acts as this: the whole tree, every action (the pre-auth behaviour). */
export const ANONYMOUS: Principal = { name: 'operator', scope: null, role: 'admin' };

/** What a route needs, declared in its `config.access`. */
export type Access =
  | 'public'        // no key: liveness, readiness, the console's files
  | 'key'           // any valid key: docs, the tree listing (filtered to the key's scope)
  | 'tree:read'     // an unscoped key of any role: figures about the whole tree (/metrics)
  | 'tree:operate'  // an unscoped key that may change things: spawning a root, an oversight pass
  | 'agent:read'    // the agent at `:path`, inside the key's scope
  | 'agent:operate'; // …with a role that may change it (purging: checkPurge as well)

export interface Denial {
  status: 401 | 403 | 404;
  message: string;
}

const ROLE_RANK: Record<Role, number> = { read: 0, operator: 1, admin: 2 };

/** Whether `path` is the key's scope or below it. Paths are compared as strings, never resolved (no `..`). */
export function inScope(principal: Principal, path: string): boolean {
  return principal.scope === null || withinSubtree(path, principal.scope);
}

/** The same 404 the runtime gives for a missing agent, word for word. */
export const hiddenAgent = (path: string): Denial => ({ status: 404, message: `agent ${path} not found` });

function needOperator(principal: Principal, what: string): Denial | null {
  if (ROLE_RANK[principal.role] >= ROLE_RANK.operator) return null;
  return { status: 403, message: `key ${principal.name} is ${principal.role}-only; ${what} needs an operator or admin key` };
}

/** Null when the request may go ahead; otherwise the answer. `path` is the normalised `:path` of an agent route. */
export function check(principal: Principal | null, access: Access, path: string | null): Denial | null {
  if (access === 'public') return null;
  if (principal === null) return { status: 401, message: 'missing or unknown API key: send Authorization: Bearer <key>' };
  switch (access) {
    case 'key':
      return null;
    case 'tree:read':
    case 'tree:operate':
      if (principal.scope !== null) return { status: 403, message: `key ${principal.name} is scoped to ${principal.scope}; this needs an unscoped key` };
      return access === 'tree:read' ? null : needOperator(principal, 'this');
    case 'agent:read':
    case 'agent:operate': {
      if (path === null || !inScope(principal, path)) return hiddenAgent(path ?? '');
      return access === 'agent:read' ? null : needOperator(principal, 'changing an agent');
    }
  }
}

/**
 * Purging (checked after `agent:operate`): an operator clears dead agents in its scope, so a tenant can make room
 * under its quota; the events stay (README "Security"). Purging a live agent in one step takes an admin, and a
 * scoped key never purges its scope's own agent (it could not spawn it again: that takes an unscoped key).
 */
export function checkPurge(principal: Principal, agent: { path: string; state: string }): Denial | null {
  if (principal.scope === agent.path) {
    return { status: 403, message: `purging ${agent.path} would remove the scope of key ${principal.name}; that needs an unscoped admin key` };
  }
  if (principal.role === 'admin' || agent.state === 'dead') return null;
  return { status: 403, message: `key ${principal.name} is operator: it purges dead agents only; terminate ${agent.path} first (DELETE without ?purge), or use an admin key` };
}

/**
 * The event as the key may see it. A `forked` event is recorded on the source and names the new sibling (`to`),
 * which is outside a key scoped to the source itself: that key sees the event without the name.
 */
export function eventFor(principal: Principal, event: AgentEvent): AgentEvent {
  if (principal.scope === null || event.type !== 'forked' || inScope(principal, String(event.data.to))) return event;
  return { ...event, data: { ...event.data, to: null } };
}

/** A fork is a new sibling of its source: the source's parent must be in scope too. */
export function checkFork(principal: Principal, sourcePath: string): Denial | null {
  if (principal.scope !== sourcePath) return null;
  return { status: 403, message: `forking ${sourcePath} makes a sibling outside the scope of key ${principal.name}` };
}

/** The roots a key sees in `GET /agents`: every root, or its scope's agent alone (when it exists). */
export function visibleRoots<T>(
  principal: Principal, roots: ReadonlyMap<string, T>, find: (path: string) => T | undefined,
): { roots: Iterable<T>; total: number } {
  if (principal.scope === null) return { roots: roots.values(), total: roots.size };
  const top = find(principal.scope);
  return top ? { roots: [top], total: 1 } : { roots: [], total: 0 };
}

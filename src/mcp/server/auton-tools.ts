import { z } from 'zod';
import type { Checkpoint } from '../../domain/agent.js';
import { LIMITS } from '../../domain/limits.js';
import { renderNode } from '../../domain/node-json.js';
import {
  checkpointBodySchema, forkBodySchema, guidanceBodySchema, messageBodySchema, restartBodySchema, resumeBodySchema,
  spawnBodySchema, suspendBodySchema,
} from '../../domain/schemas.js';
import { eventJson } from '../../events/types.js';
import { agentPath } from '../../http/agent-paths.js';
import { HttpError } from '../../http/errors.js';
import { check, checkFork, checkPurge, visibleRoots, type Access, type Denial, type Principal } from '../../http/auth/access.js';
import type { OversightEngine } from '../../oversight/engine.js';
import type { ApprovalRegistry } from '../../approvals/registry.js';
import { approvalJson } from '../../domain/approval.js';
import { approvalDecisionBodySchema } from '../../domain/schemas.js';
import { notFound } from '../../domain/errors.js';
import { hiddenAgent, inScope } from '../../http/auth/access.js';
import type { Actor, Runtime } from '../../runtime/runtime.js';
import { idFromGoal } from '../../runtime/ids.js';
import type { ClusterNode } from '../../cluster/node.js';
import { mergeRoots } from '../../cluster/remote-tree.js';

export interface AutonToolContext {
  runtime: Runtime;
  oversight: OversightEngine;
  /** Tool approvals (absent where the daemon has none: nothing is pending). */
  approvals?: ApprovalRegistry;
  principal: Principal;
  /** Starts the MCP servers a spec names, so its tool names can be checked (spawn). */
  prepareSpec(tools: readonly string[]): Promise<void>;
  /** Several daemons on one PostgreSQL: tools about another daemon's subtree run there (./owner-calls.ts). */
  cluster?: ClusterNode;
  /** The caller's Authorization header, passed on to the owner of a subtree. */
  authorization?: string;
}

/** One protocol operation as an MCP tool: its input is the HTTP route's body schema plus the agent's path. */
export interface AutonTool {
  name: string;
  description: string;
  input: z.ZodType<Record<string, unknown>>;
  /** What it needs of the caller's key (src/http/auth/access.ts) and on which agent; null when allowed. */
  deny(args: Record<string, unknown>, principal: Principal): Denial | null;
  /** The same JSON the HTTP route answers, as text. */
  run(args: Record<string, unknown>, ctx: AutonToolContext): Promise<string>;
  /** When its HTTP route's answer, from another daemon, is not the tool's answer as it stands. */
  fromOwner?(answer: string, args: Record<string, unknown>, ctx: AutonToolContext): Promise<string>;
}

const pathField = z.string().min(1).max(LIMITS.pathMaxLength).meta({ description: 'Agent path, e.g. researcher/summarizer' });
const depthField = z.number().int().min(0).max(64).optional().meta({ description: 'Levels of children to include (0 = the node alone)' });
const withPath = <T extends z.ZodObject>(schema: T) => schema.extend({ path: pathField });
const pathOf = (args: Record<string, unknown>): string => agentPath(String(args.path));
const actorOf = (ctx: AutonToolContext, reason?: unknown): Actor =>
  ({ by: ctx.principal.name, ...(typeof reason === 'string' && reason ? { reason } : {}) });
const on = (access: Access) => (args: Record<string, unknown>, principal: Principal) => check(principal, access, pathOf(args));

/** Changes answer once durable, as the HTTP routes do (group commit). */
async function durable(ctx: AutonToolContext, json: string): Promise<string> {
  await ctx.runtime.store.flush();
  return json;
}

function checkpointSummary(checkpoint: Checkpoint) {
  const { conversation: _conversation, context: _context, health: _health, ...rest } = checkpoint;
  return rest;
}

/** The agent's log entries from the store, not those of an earlier agent that was purged from the same path. */
async function logSince(runtime: Runtime, path: string, sinceIso: string, limit: unknown): Promise<string> {
  const events = (await runtime.store.recentEvents(path, (limit as number | undefined) ?? LIMITS.logBacklogEntries)).filter((e) => e.timestamp >= sinceIso);
  return JSON.stringify({ events: events.map(eventJson) });
}

type Args<T extends z.ZodType> = z.infer<T>;

const spawnInput = spawnBodySchema.extend({ parent: pathField.optional().meta({ description: 'Spawn under this agent; a root when left out' }) });
const terminateInput = z.strictObject({
  path: pathField, purge: z.boolean().optional().meta({ description: 'Also remove the subtree from the tree (an admin key)' }),
  reason: z.string().max(LIMITS.reasonMaxChars).optional(),
});

export const AUTON_TOOLS: AutonTool[] = [
  {
    name: 'list_agents', description: 'The tree: roots with their children nested (a scoped key sees its subtree alone)',
    input: z.strictObject({ depth: depthField }),
    deny: (_args, principal) => check(principal, 'key', null),
    run: async (args, { runtime, principal, cluster }) => {
      // Several daemons: the subtrees the others own, as stored, beside this daemon's own (as GET /agents).
      const remote = cluster ? await cluster.remoteTree() : null;
      const all = remote ? mergeRoots(runtime.tree.roots, remote.roots) : runtime.tree.roots;
      const { roots, total } = visibleRoots(principal, all, (p) => runtime.tree.find(p) ?? remote?.find(p));
      const now = runtime.clock();
      const depth = (args.depth as number | undefined) ?? Infinity;
      return `{"agents":[${[...roots].map((r) => renderNode(r, now, depth)).join(',')}],"total":${total}}`;
    },
  },
  {
    name: 'get_agent', description: 'The agent at a path with its subtree, state, health and policy',
    input: z.strictObject({ path: pathField, depth: depthField }), deny: on('agent:read'),
    run: async (args, { runtime }) => renderNode(runtime.get(pathOf(args)), runtime.clock(), (args.depth as number | undefined) ?? Infinity),
  },
  {
    name: 'spawn_agent', description: 'Spawn an agent: a root, or a child under `parent`', input: spawnInput,
    deny: (args, principal) => (typeof args.parent === 'string' ? check(principal, 'agent:operate', agentPath(args.parent)) : check(principal, 'tree:operate', null)),
    run: async (raw, ctx) => {
      const { parent, ...body } = raw as Args<typeof spawnInput>;
      await ctx.prepareSpec(body.spec.tools);
      // On PostgreSQL a new root is leased by the daemon that spawns it (a 409 when another daemon has that root).
      if (parent === undefined && ctx.runtime.roots) await ctx.runtime.roots.claim(body.id ??= ctx.runtime.tree.uniqueId(null, idFromGoal(body.spec.goal)));
      return durable(ctx, renderNode(ctx.runtime.spawn(parent === undefined ? null : agentPath(parent), body, actorOf(ctx)), ctx.runtime.clock()));
    },
  },
  {
    name: 'message_agent', description: 'Send a message to an agent; it wakes an idle one', input: withPath(messageBodySchema), deny: on('agent:operate'),
    run: async (raw, ctx) => {
      const { path: _path, ...body } = raw as Args<typeof messageBodySchema> & { path: string };
      const agent = ctx.runtime.message(pathOf(raw), body, undefined, actorOf(ctx));
      return durable(ctx, JSON.stringify({ status: 'delivered', path: agent.path }));
    },
  },
  {
    name: 'guide_agent', description: "Correct an agent: guidance delivered at its next model call", input: withPath(guidanceBodySchema), deny: on('agent:operate'),
    run: async (args, ctx) => durable(ctx, renderNode(ctx.runtime.guide(pathOf(args), String(args.guidance), actorOf(ctx, args.reason)), ctx.runtime.clock())),
  },
  {
    name: 'suspend_agent', description: 'Suspend an agent with a typed reason (default manual)', input: withPath(suspendBodySchema), deny: on('agent:operate'),
    run: async (raw, ctx) => {
      const args = raw as Args<typeof suspendBodySchema> & { path: string };
      return durable(ctx, renderNode(ctx.runtime.suspend(pathOf(raw), args.reason, args.detail, actorOf(ctx)), ctx.runtime.clock()));
    },
  },
  {
    name: 'resume_agent', description: 'Resume a suspended agent, optionally with guidance', input: withPath(resumeBodySchema), deny: on('agent:operate'),
    run: async (args, ctx) => durable(ctx, renderNode(ctx.runtime.resume(pathOf(args), args.guidance as string | undefined, actorOf(ctx)), ctx.runtime.clock())),
  },
  {
    name: 'checkpoint_agent', description: "Save a snapshot of an agent's conversation and state", input: withPath(checkpointBodySchema), deny: on('agent:operate'),
    run: async (args, ctx) => durable(ctx, JSON.stringify(checkpointSummary(ctx.runtime.checkpoint(pathOf(args), args.label as string | undefined, actorOf(ctx))))),
  },
  {
    name: 'fork_agent', description: 'Start a new sibling from the latest (or a named) checkpoint', input: withPath(forkBodySchema),
    deny: (args, principal) => on('agent:operate')(args, principal) ?? checkFork(principal, pathOf(args)),
    run: async (raw, ctx) => {
      const { path: _path, ...options } = raw as Args<typeof forkBodySchema> & { path: string };
      return durable(ctx, renderNode(await ctx.runtime.fork(pathOf(raw), options, actorOf(ctx)), ctx.runtime.clock()));
    },
  },
  {
    name: 'restart_agent', description: 'Restart an agent from its latest checkpoint (counts against max_restarts)', input: withPath(restartBodySchema), deny: on('agent:operate'),
    run: async (args, ctx) => durable(ctx, renderNode(await ctx.runtime.restart(pathOf(args), actorOf(ctx, args.reason)), ctx.runtime.clock())),
  },
  {
    name: 'terminate_agent', description: 'Terminate an agent and its descendants (children first); purge removes them', input: terminateInput,
    deny: on('agent:operate'),
    run: async (args, ctx) => {
      const purge = args.purge === true;
      const denial = purge ? checkPurge(ctx.principal, ctx.runtime.get(pathOf(args))) : null;
      if (denial) throw new HttpError(denial.status, denial.message);
      return durable(ctx, renderNode(ctx.runtime.terminate(pathOf(args), { purge, ...actorOf(ctx, args.reason) }), ctx.runtime.clock()));
    },
  },
  {
    name: 'read_log', description: "An agent's recent log entries (events), oldest first",
    input: z.strictObject({ path: pathField, limit: z.number().int().min(1).max(LIMITS.logBacklogEntries).optional() }), deny: on('agent:read'),
    run: async (args, { runtime }) => {
      const agent = runtime.get(pathOf(args));
      return logSince(runtime, agent.path, new Date(agent.createdAtMs).toISOString(), args.limit);
    },
    // The owner said the agent exists (its node, depth 0); its events are in the shared store.
    fromOwner: async (answer, args, { runtime }) => logSince(runtime, pathOf(args), (JSON.parse(answer) as { created_at: string }).created_at, args.limit),
  },
  {
    name: 'list_approvals', description: "Tool calls waiting for a person's yes in a subtree (default: the key's whole scope), oldest first",
    input: z.strictObject({ path: pathField.optional() }),
    deny: (args, principal) => (typeof args.path === 'string' && !inScope(principal, pathOf(args)) ? hiddenAgent(pathOf(args)) : check(principal, 'key', null)),
    run: async (args, { runtime, approvals, principal, cluster }) => {
      const path = typeof args.path === 'string' ? pathOf(args) : principal.scope;
      if (path !== null) runtime.get(path);
      const local = approvals?.pending(path) ?? [];
      // The whole tree across daemons: the other daemons' pending approvals, as stored (as GET /approvals).
      const pending = path === null && cluster
        ? [...local, ...await cluster.remotePendingApprovals()].sort((a, b) => a.createdAtMs - b.createdAtMs) : local;
      return JSON.stringify({ approvals: pending.map(approvalJson) });
    },
  },
  {
    name: 'decide_approval', description: 'Allow or deny a held tool call of the agent at path or below it (remember: allow that tool from now on)',
    input: z.strictObject({ path: pathField, id: z.string().min(1).max(64), decision: z.enum(['allow', 'deny']), note: z.string().max(LIMITS.approvalNoteMaxChars).optional(), remember: z.enum(['agent', 'subtree']).optional() }),
    deny: on('agent:operate'),
    run: async (raw, ctx) => {
      const { path: _path, id, ...decision } = raw as { path: string; id: string; decision: 'allow' | 'deny'; note?: string; remember?: 'agent' | 'subtree' };
      const body = approvalDecisionBodySchema.parse(decision);
      ctx.runtime.get(pathOf(raw));
      if (!ctx.approvals) throw notFound(`approval ${id}`);
      return durable(ctx, JSON.stringify(approvalJson(ctx.approvals.decide(pathOf(raw), id, body, ctx.principal.name))));
    },
  },
  {
    name: 'run_oversight', description: 'Run every oversight check on every agent now (an unscoped operator key)',
    input: z.strictObject({}), deny: (_args, principal) => check(principal, 'tree:operate', null),
    run: async (_args, ctx) => durable(ctx, JSON.stringify({ events: ctx.oversight.runPass() })),
  },
];

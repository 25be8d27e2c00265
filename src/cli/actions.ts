import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { SUSPEND_REASONS } from '../domain/schemas.js';
import { agentUrl } from './client.js';
import { emit, paintState, UsageError, type CliContext } from './output.js';
import type { Node } from './tree.js';
import { changedAll, printDryRun, subtreeSuffix } from './subtree.js';

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`not a whole number: ${v}`);
  return n;
};

interface SpawnFlags {
  file?: string; id?: string; goal?: string; model?: string; tools?: string; schedule?: string;
  restart?: string; maxChildren?: number; maxTotalTokens?: number; maxTokensPerHour?: number; maxRuntimeSeconds?: number;
}

/** The spawn body: a JSON or YAML file in the API's own shape (`{id, spec, policy}`), with flags on top. */
export function spawnBody(flags: SpawnFlags): Record<string, unknown> {
  let body: Record<string, unknown> = {};
  if (flags.file) {
    let text: string;
    try {
      text = readFileSync(flags.file === '-' ? 0 : flags.file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read ${flags.file}: ${(error as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text); // YAML is a superset of JSON: one parser reads both
    } catch (error) {
      throw new UsageError(`${flags.file} is neither JSON nor YAML: ${(error as Error).message.split('\n')[0]}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`${flags.file} must hold an object like {id, spec: {goal}, policy}`);
    body = parsed as Record<string, unknown>;
  }
  const spec = { ...(body.spec as Record<string, unknown> | undefined) };
  const policy = { ...(body.policy as Record<string, unknown> | undefined) };
  const budget = { ...(policy.budget as Record<string, unknown> | undefined) };
  if (flags.goal !== undefined) spec.goal = flags.goal;
  if (flags.model !== undefined) spec.model = flags.model;
  if (flags.tools !== undefined) spec.tools = flags.tools.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  if (flags.schedule !== undefined) spec.schedule = flags.schedule;
  if (flags.restart !== undefined) policy.restart = flags.restart;
  if (flags.maxChildren !== undefined) policy.max_children = flags.maxChildren;
  if (flags.maxTotalTokens !== undefined) budget.max_total_tokens = flags.maxTotalTokens;
  if (flags.maxTokensPerHour !== undefined) budget.max_tokens_per_hour = flags.maxTokensPerHour;
  if (flags.maxRuntimeSeconds !== undefined) budget.max_runtime_seconds = flags.maxRuntimeSeconds;
  if (Object.keys(budget).length > 0) policy.budget = budget;
  if (spec.goal === undefined) throw new UsageError('a spawn needs a goal: --goal "…" or a file with spec.goal (-f agent.yaml)');
  return {
    ...body, ...(flags.id !== undefined ? { id: flags.id } : {}), spec, ...(Object.keys(policy).length > 0 ? { policy } : {}),
  };
}

/** One line after a change: the agent and the state it is in now. */
const changed = (ctx: CliContext, verb: string, node: Node) =>
  emit(ctx, node, () => `${verb} ${ctx.colour.bold(node.path)}: ${paintState(ctx.colour, node.state)}${node.suspend_reason ? ` (${node.suspend_reason})` : ''}`);

export function actionCommands(program: Command, context: (cmd: Command) => CliContext): void {
  program.command('spawn').argument('[parent]', 'spawn a child under this agent (default: a root)')
    .description('start an agent, from flags or a JSON/YAML file in the API\'s shape')
    .option('-f, --file <file>', 'JSON or YAML body ({id, spec, policy}); - reads stdin')
    .option('--id <id>', 'agent id (default: made from the goal)')
    .option('-g, --goal <text>', 'what the agent works towards')
    .option('--model <model>', 'model name')
    .option('--tools <list>', 'comma-separated tools, e.g. web_search,fetch_webpage')
    .option('--schedule <cron>', 'cron expression; woken on each tick when idle')
    .addOption(new Option('--restart <when>', 'restart policy').choices(['never', 'on_failure', 'always']))
    .option('--max-children <n>', 'policy.max_children', int)
    .option('--max-total-tokens <n>', 'budget: tokens in all', int)
    .option('--max-tokens-per-hour <n>', 'budget: tokens an hour', int)
    .option('--max-runtime-seconds <n>', 'budget: seconds of running', int)
    .action(async (parent: string | undefined, flags: SpawnFlags, cmd: Command) => {
      const ctx = context(cmd);
      const node = await ctx.client.post<Node>(parent ? agentUrl(parent) : '/agents', spawnBody(flags));
      changed(ctx, 'spawned', node);
    });

  program.command('message').argument('<path>').argument('<text>').description('send a message; it wakes an idle agent')
    .option('--channel <name>', 'where it came from, e.g. slack')
    .action(async (path: string, text: string, opts: { channel?: string }, cmd: Command) => {
      const ctx = context(cmd);
      const res = await ctx.client.post<{ status: string; path: string }>(agentUrl(path, 'message'), { content: text, ...(opts.channel ? { channel: opts.channel } : {}) });
      emit(ctx, res, () => `delivered to ${ctx.colour.bold(res.path)}`);
    });

  program.command('guide').argument('<path>').argument('<guidance>').description('correct: guidance for the next model call')
    .option('--reason <text>', 'why (kept in the log)')
    .action(async (path: string, guidance: string, opts: { reason?: string }, cmd: Command) => {
      const ctx = context(cmd);
      changed(ctx, 'guided', await ctx.client.request<Node>('PATCH', agentUrl(path), { guidance, ...(opts.reason ? { reason: opts.reason } : {}) }));
    });

  program.command('suspend').argument('<path>').description('suspend with a typed reason')
    .addOption(new Option('--reason <reason>', 'suspend reason').choices(SUSPEND_REASONS).default('manual'))
    .option('--detail <text>', 'a note kept with the suspension')
    .option('--subtree', 'the agent and every live descendant, in one request')
    .action(async (path: string, opts: { reason: string; detail?: string; subtree?: boolean }, cmd: Command) => {
      const ctx = context(cmd);
      const body = { reason: opts.reason, ...(opts.detail ? { detail: opts.detail } : {}) };
      if (opts.subtree) return changedAll(ctx, 'suspended', await ctx.client.post(agentUrl(path, 'suspend') + subtreeSuffix(opts), body));
      changed(ctx, 'suspended', await ctx.client.post<Node>(agentUrl(path, 'suspend'), body));
    });

  program.command('resume').argument('<path>').description('resume a suspended agent')
    .option('--guidance <text>', 'delivered at the first model call after resuming')
    .option('--subtree', 'the agent and every live descendant, in one request')
    .action(async (path: string, opts: { guidance?: string; subtree?: boolean }, cmd: Command) => {
      const ctx = context(cmd);
      const body = opts.guidance ? { guidance: opts.guidance } : {};
      if (opts.subtree) return changedAll(ctx, 'resumed', await ctx.client.post(agentUrl(path, 'resume') + subtreeSuffix(opts), body));
      changed(ctx, 'resumed', await ctx.client.post<Node>(agentUrl(path, 'resume'), body));
    });

  program.command('checkpoint').argument('<path>').description('save a snapshot of the conversation and state')
    .option('--label <text>', 'a name for it')
    .option('--subtree', 'every live descendant too, in one consistent cut')
    .action(async (path: string, opts: { label?: string; subtree?: boolean }, cmd: Command) => {
      const ctx = context(cmd);
      if (opts.subtree) {
        const res = await ctx.client.post<{ cut: string; checkpoints: Array<{ id: string; path: string; turns: number }> }>(agentUrl(path, 'checkpoint') + subtreeSuffix(opts), opts.label ? { label: opts.label } : {});
        return emit(ctx, res, () => [`cut ${ctx.colour.bold(res.cut)}`, ...res.checkpoints.map((c) => `checkpoint ${ctx.colour.bold(c.id)} of ${c.path} (${c.turns} turns)`)].join('\n'));
      }
      const cp = await ctx.client.post<{ id: string; path: string; turns: number }>(agentUrl(path, 'checkpoint'), opts.label ? { label: opts.label } : {});
      emit(ctx, cp, () => `checkpoint ${ctx.colour.bold(cp.id)} of ${cp.path} (${cp.turns} turns)`);
    });

  program.command('checkpoints').argument('<path>').description("list an agent's checkpoints, oldest first")
    .action(async (path: string, _opts: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const res = await ctx.client.get<{ checkpoints: Array<{ id: string; timestamp: string; turns: number; state: string; label?: string }> }>(agentUrl(path, 'checkpoints'));
      emit(ctx, res, () => (res.checkpoints.length === 0
        ? ctx.colour.dim('no checkpoints')
        : res.checkpoints.map((cp) => `${cp.id}  ${cp.timestamp}  ${cp.turns} turns  ${cp.state}${cp.label ? `  ${cp.label}` : ''}`).join('\n')));
    });

  program.command('fork').argument('<path>').description('start a new sibling from the latest (or a named) checkpoint')
    .option('--id <id>', "the new agent's id")
    .option('--checkpoint <id>', 'fork from this checkpoint')
    .option('--subtree', 'copy the whole subtree from a subtree checkpoint (checkpoint --subtree)')
    .action(async (path: string, opts: { id?: string; checkpoint?: string; subtree?: boolean }, cmd: Command) => {
      const ctx = context(cmd);
      const { subtree: _subtree, ...body } = opts;
      if (opts.subtree) return changedAll(ctx, 'forked', await ctx.client.post(agentUrl(path, 'fork') + subtreeSuffix(opts), body));
      changed(ctx, 'forked', await ctx.client.post<Node>(agentUrl(path, 'fork'), body));
    });

  program.command('restart').argument('<path>').description('restart from the latest checkpoint (counts against max_restarts)')
    .option('--reason <text>', 'why (kept in the log)')
    .option('--subtree', 'the agent and every live descendant, in one request')
    .action(async (path: string, opts: { reason?: string; subtree?: boolean }, cmd: Command) => {
      const ctx = context(cmd);
      const body = opts.reason ? { reason: opts.reason } : {};
      if (opts.subtree) return changedAll(ctx, 'restarted', await ctx.client.post(agentUrl(path, 'restart') + subtreeSuffix(opts), body));
      changed(ctx, 'restarted', await ctx.client.post<Node>(agentUrl(path, 'restart'), body));
    });

  program.command('kill').argument('<path>').description('terminate the agent and its descendants')
    .option('--purge', 'also remove the subtree from the tree')
    .option('--reason <text>', 'why (kept in the log)')
    .action(async (path: string, opts: { purge?: boolean; reason?: string }, cmd: Command) => {
      const ctx = context(cmd);
      const query = new URLSearchParams({ ...(opts.purge ? { purge: 'true' } : {}), ...(opts.reason ? { reason: opts.reason } : {}) }).toString();
      const node = await ctx.client.request<Node>('DELETE', `${agentUrl(path)}${query ? `?${query}` : ''}`);
      changed(ctx, opts.purge ? 'purged' : 'terminated', node);
    });

  program.command('oversight').argument('[path]', 'with --dry-run: only this subtree')
    .description('run every oversight check on every agent now (--dry-run: say what it would do, change nothing)')
    .option('--dry-run', 'what a pass would do to each agent and why, changing nothing')
    .action(async (path: string | undefined, opts: { dryRun?: boolean }, cmd: Command) => {
      const ctx = context(cmd);
      if (opts.dryRun) {
        return printDryRun(ctx, await ctx.client.post(`/oversight/check?dry_run=true${path ? `&path=${encodeURIComponent(path)}` : ''}`));
      }
      const res = await ctx.client.post<{ events: Array<{ path: string; kind: string; action: string; detail: string }> }>('/oversight/check');
      emit(ctx, res, () => (res.events.length === 0
        ? 'no findings'
        : res.events.map((f) => `${f.path}  ${f.action === 'suspend' ? ctx.colour.red(f.action) : ctx.colour.yellow(f.action)}  ${f.kind}: ${f.detail}`).join('\n')));
    });
}

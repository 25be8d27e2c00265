import type { Command } from 'commander';
import type { AgentNodeJson } from '../domain/schemas.js';
import { agentUrl } from './client.js';
import { dollars, duration, emit, paintState, tokens, type CliContext, type Colours } from './output.js';

/** A node as the API sends it; `health.cost_usd` is there once the daemon prices model calls. */
export type Node = AgentNodeJson & { health: AgentNodeJson['health'] & { cost_usd?: number } };

interface Row { name: string; node: Node }

/** Each node under its parent with box-drawing branches; roots flush left. */
function rows(nodes: Node[], indent = '', atRoot = true, out: Row[] = []): Row[] {
  nodes.forEach((node, i) => {
    const last = i === nodes.length - 1;
    out.push({ name: `${indent}${atRoot ? '' : last ? '└─ ' : '├─ '}${node.id}`, node });
    rows(node.children as Node[], atRoot ? '' : `${indent}${last ? '   ' : '│  '}`, false, out);
  });
  return out;
}

/**
 * The tree as aligned lines: name (with its branches), state, tokens, cost when the daemon reports one, uptime,
 * and why an agent is stopped. Cut subtrees (?depth) show how many children were left out.
 */
export function renderTree(nodes: Node[], c: Colours): string[] {
  const all = rows(nodes);
  if (all.length === 0) return [];
  const nameWidth = Math.max(...all.map((r) => r.name.length));
  const stateWidth = Math.max(...all.map((r) => r.node.state.length));
  const tokenCells = all.map((r) => `${tokens(r.node.health.tokens_total)} tok`);
  const tokenWidth = Math.max(...tokenCells.map((t) => t.length));
  const hasCost = all.some((r) => typeof r.node.health.cost_usd === 'number');
  return all.map((r, i) => {
    const { node } = r;
    const cells = [
      r.name.padEnd(nameWidth),
      paintState(c, node.state) + ' '.repeat(stateWidth - node.state.length),
      tokenCells[i]!.padStart(tokenWidth),
    ];
    if (hasCost) cells.push(typeof node.health.cost_usd === 'number' ? dollars(node.health.cost_usd).padStart(8) : ' '.repeat(8));
    if (node.state !== 'dead' && node.started_at) cells.push(c.dim(`up ${duration(node.uptime)}`.padEnd(7)));
    const why = node.suspend_reason ? `${node.suspend_reason}${node.error_message ? `: ${node.error_message}` : ''}` : '';
    if (why) cells.push(c.yellow(why));
    if (node.children_count !== undefined && node.children.length === 0 && node.children_count > 0) cells.push(c.dim(`(+${node.children_count} children)`));
    return cells.join('  ').trimEnd();
  });
}

async function list(ctx: CliContext, path: string | undefined, depth: number | undefined): Promise<void> {
  const query = depth === undefined ? '' : `?depth=${depth}`;
  const value = path
    ? await ctx.client.get<Node>(`${agentUrl(path)}${query}`)
    : await ctx.client.get<{ agents: Node[]; total: number }>(`/agents${query}`);
  emit(ctx, value, () => {
    const nodes = 'agents' in value ? value.agents : [value];
    if (nodes.length === 0) return ctx.colour.dim('no agents yet; spawn one with: auton spawn --goal "…"');
    return renderTree(nodes, ctx.colour).join('\n');
  });
}

function details(node: Node, c: Colours): string {
  const h = node.health;
  const lines: Array<[string, string]> = [
    ['path', c.bold(node.path)],
    ['state', `${paintState(c, node.state)}${node.suspend_reason ? ` (${node.suspend_reason})` : ''}`],
    ...(node.error_message ? [['error', c.red(node.error_message)] as [string, string]] : []),
    ['goal', node.spec.goal],
    ['model', node.spec.model],
    ['tools', node.spec.tools.length > 0 ? node.spec.tools.join(', ') : c.dim('none')],
    ...(node.spec.schedule ? [['schedule', node.spec.schedule] as [string, string]] : []),
    ['tokens', `${tokens(h.tokens_total)} total, ${tokens(h.token_rate)} in the last hour`],
    ...(typeof h.cost_usd === 'number' ? [['cost', dollars(h.cost_usd)] as [string, string]] : []),
    ['health', `coherence ${h.coherence.toFixed(2)}, drift ${h.drift.toFixed(2)}, loops ${h.loops_detected}`],
    ['restarts', `${node.restart_count} of ${node.policy.max_restarts} (${node.policy.restart})`],
    ['checkpoints', String(node.checkpoints)],
    ['children', String(node.children_count ?? node.children.length)],
    ['created', node.created_at],
    ...(node.started_at ? [['uptime', duration(node.uptime)] as [string, string]] : []),
    ...(node.forked_from ? [['forked from', `${node.forked_from.path} @ ${node.forked_from.checkpoint}`] as [string, string]] : []),
  ];
  return lines.map(([k, v]) => `${c.dim(k.padEnd(12))}${v}`).join('\n');
}

export function treeCommands(program: Command, context: (cmd: Command) => CliContext): void {
  program.command('ls').argument('[path]', 'a subtree (default: the whole tree)')
    .description('draw the tree: states, reasons, tokens, cost')
    .option('-d, --depth <levels>', 'levels of children to show', (v) => Number.parseInt(v, 10))
    .action(async (path: string | undefined, opts: { depth?: number }, cmd: Command) => list(context(cmd), path, opts.depth));

  program.command('get').argument('<path>', 'the agent').description("one agent's spec, state, health and counters")
    .action(async (path: string, _opts: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const node = await ctx.client.get<Node>(`${agentUrl(path)}?depth=0`);
      emit(ctx, node, () => details(node, ctx.colour));
    });
}

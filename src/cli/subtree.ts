import { emit, paintState, type CliContext } from './output.js';
import type { Node } from './tree.js';

/** `?subtree=true` when `--subtree` was given (README "Subtree operations"). */
export const subtreeSuffix = (opts: { subtree?: boolean }): string => (opts.subtree ? '?subtree=true' : '');

/** One line per agent a subtree operation changed, in the order it changed them. */
export function changedAll(ctx: CliContext, verb: string, res: { agents: Node[] }): void {
  emit(ctx, res, () => (res.agents.length === 0 ? ctx.colour.dim('nothing changed') : res.agents
    .map((n) => `${verb} ${ctx.colour.bold(n.path)}: ${paintState(ctx.colour, n.state)}${n.suspend_reason ? ` (${n.suspend_reason})` : ''}`)
    .join('\n')));
}

interface DryRunEntry {
  path: string; state: string; checked: boolean; action: string; reason?: string;
  findings: Array<{ kind: string; action: string; detail: string }>;
  next_call: { detail: string } | null; context_pressure: number | null; cache_hit_ratio: number | null;
}

const percent = (share: number | null) => (share === null ? '-' : `${Math.round(share * 100)}%`);

/** What `auton oversight --dry-run` prints: each agent, what a pass would do and why, context and cache figures. */
export function printDryRun(ctx: CliContext, res: { agents: DryRunEntry[] }): void {
  emit(ctx, res, () => res.agents.map((a) => {
    const what = !a.checked ? ctx.colour.dim(`not checked (${a.state})`)
      : a.action === 'suspend' ? ctx.colour.red(`would suspend (${a.reason ?? ''})`)
        : a.action === 'warn' ? ctx.colour.yellow('would warn') : 'nothing to do';
    const lines = [`${ctx.colour.bold(a.path)}  ${what}  context ${percent(a.context_pressure)}  cache hits ${percent(a.cache_hit_ratio)}`];
    for (const f of a.findings) lines.push(`  ${f.action} ${f.kind}: ${f.detail}`);
    if (a.next_call) lines.push(`  next call: ${a.next_call.detail}`);
    return lines.join('\n');
  }).join('\n'));
}

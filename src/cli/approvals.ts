import { Command, Option } from 'commander';
import { agentUrl } from './client.js';
import { emit, type CliContext } from './output.js';

interface ApprovalJson { id: string; path: string; tool: string; input: unknown; state: string; created_at: string; expires_at: string; on_timeout: string; decided_by: string | null }

/** `auton approvals [PATH]` and `auton approve|deny PATH ID` (README "Approvals"). */
export function approvalCommands(program: Command, context: (cmd: Command) => CliContext): void {
  program.command('approvals').argument('[path]', "a subtree (default: the key's whole scope)")
    .description('list the tool calls waiting for a yes, oldest first')
    .action(async (path: string | undefined, _opts: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const res = await ctx.client.get<{ approvals: ApprovalJson[] }>(`/approvals${path ? `?path=${encodeURIComponent(path)}` : ''}`);
      emit(ctx, res, () => (res.approvals.length === 0
        ? ctx.colour.dim('no pending approvals')
        : res.approvals.map((a) => `${ctx.colour.bold(a.id)}  ${a.path}  ${a.tool} ${JSON.stringify(a.input).slice(0, 120)}  `
          + `expires ${a.expires_at} (then ${a.on_timeout})`).join('\n')));
    });

  for (const decision of ['allow', 'deny'] as const) {
    const verb = decision === 'allow' ? 'approve' : 'deny';
    const command = program.command(verb).argument('<path>', 'the agent that asked, or an ancestor').argument('<id>', 'the approval id')
      .description(decision === 'allow' ? 'let a held tool call run' : 'refuse a held tool call (the model reads why)')
      .option('--note <text>', 'why (kept in the log; a denial shows it to the model)');
    if (decision === 'allow') command.addOption(new Option('--remember <scope>', 'allow this tool from now on, for the agent or its subtree').choices(['agent', 'subtree']));
    command.action(async (path: string, id: string, opts: { note?: string; remember?: string }, cmd: Command) => {
      const ctx = context(cmd);
      const body = { decision, ...(opts.note ? { note: opts.note } : {}), ...(opts.remember ? { remember: opts.remember } : {}) };
      const res = await ctx.client.post<ApprovalJson>(`${agentUrl(path)}/approvals/${encodeURIComponent(id)}`, body);
      emit(ctx, res, () => `${res.id} ${res.state === 'allowed' ? ctx.colour.green(res.state) : ctx.colour.red(res.state)}: ${res.tool} of ${res.path}`);
    });
  }
}

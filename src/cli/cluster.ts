import type { Command } from 'commander';
import { emit, type CliContext } from './output.js';

interface ClusterJson {
  self: string;
  lease_ttl_ms: number;
  daemons: Array<{ id: string; address: string; live: boolean; draining: boolean; load: number; leases: number; heartbeat_at: string }>;
  leases: Array<{ root: string; owner: string; epoch: number; state: string; expires_in_ms: number | null }>;
}

/** `auton cluster`: the daemons sharing the database and which owns each root subtree (README "Several daemons"). */
export function clusterCommand(program: Command, context: (cmd: Command) => CliContext): void {
  program.command('cluster')
    .description('the daemons sharing a PostgreSQL database, their load, and the owner of each root subtree')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const res = await ctx.client.get<ClusterJson>('/cluster');
      emit(ctx, res, () => {
        const { bold, dim, green, red } = ctx.colour;
        const daemons = res.daemons.map((d) => {
          const state = d.draining ? red('draining') : d.live ? green('live') : red('silent');
          return `${bold(d.id)}${d.id === res.self ? dim(' (answered)') : ''}  ${state}  ${d.address}  ${d.load} agents  ${d.leases} subtrees`;
        });
        const width = Math.max(0, ...res.leases.map((l) => l.root.length));
        const leases = res.leases.map((l) => {
          const when = l.expires_in_ms === null ? '' : l.state === 'held' ? dim(`  renews within ${(l.expires_in_ms / 1000).toFixed(1)} s`) : '';
          return `  ${l.root.padEnd(width)}  ${l.state === 'held' ? l.owner : red(l.state)}  epoch ${l.epoch}${when}`;
        });
        return [...daemons, leases.length > 0 ? `subtrees (lease ${res.lease_ttl_ms / 1000} s):` : dim('no subtrees'), ...leases].join('\n');
      });
    });
}

import type { Command } from 'commander';
import { agentUrl, type StreamEvent } from './client.js';
import { EVENT_TYPES } from './events.js';
import type { CliContext } from './output.js';
import { renderTree, type Node } from './tree.js';

/** Redraws at most this often, however many events arrive. */
export const WATCH_REDRAW_MS = 250;
/** Re-reads the roots this often to notice new ones (each root's /observe stream tells about its subtree). */
export const WATCH_ROOTS_REFRESH_MS = 5_000;

/** Events that change what the tree shows; heartbeats carry health (tokens) and count too. */
const REDRAWN_BY = new Set(['spawned', 'state_change', 'suspended', 'resumed', 'restarted', 'terminated', 'purged', 'forked', 'model_call', 'heartbeat']);

/**
 * A live tree: one /observe stream per root (or for the path given), and the tree re-read and redrawn when an
 * event changes it. On a terminal the screen is redrawn in place; elsewhere each new tree is printed after a blank
 * line; with --json each event is one line of JSON.
 */
async function watch(ctx: CliContext, path: string | undefined): Promise<void> {
  const streams = new Map<string, () => void>();
  const tty = process.stdout.isTTY === true && !ctx.json;
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  let failed: (error: Error) => void = () => {};
  const failure = new Promise<never>((_resolve, reject) => (failed = reject));

  const read = async (): Promise<Node[]> => (path
    ? [await ctx.client.get<Node>(agentUrl(path))]
    : (await ctx.client.get<{ agents: Node[] }>('/agents')).agents);

  const draw = async () => {
    timer = undefined;
    const nodes = await read();
    follow(nodes);
    if (ctx.json) return;
    const body = nodes.length === 0 ? ctx.colour.dim('no agents yet') : renderTree(nodes, ctx.colour).join('\n');
    if (body === last) return;
    last = body;
    const header = ctx.colour.dim(`auton watch ${path ?? ''} · ${ctx.client.baseUrl} · ${new Date().toLocaleTimeString('en-GB', { hour12: false })} · Ctrl-C to stop`);
    ctx.out(tty ? `\x1b[H\x1b[2J${header}\n\n${body}` : `${body}\n`);
  };
  const schedule = () => {
    timer ??= setTimeout(() => void draw().catch(failed), WATCH_REDRAW_MS);
  };
  const onEvent = (e: StreamEvent) => {
    if (ctx.json && e.type !== 'heartbeat') ctx.out(JSON.stringify(e));
    if (REDRAWN_BY.has(e.type)) schedule();
  };
  /** One stream per root shown; streams of roots that are gone are closed. */
  function follow(nodes: Node[]) {
    const wanted = new Set(nodes.map((n) => n.path));
    for (const [p, close] of streams) if (!wanted.has(p)) (close(), streams.delete(p));
    for (const p of wanted) {
      if (streams.has(p)) continue;
      streams.set(p, ctx.client.stream(agentUrl(p, 'observe'), EVENT_TYPES, {
        onEvent,
        // A root purged meanwhile: the next read drops it. Anything else ends the watch.
        onError: (error) => (path === undefined ? schedule() : failed(error)),
      }));
    }
  }

  await draw();
  const refresh = path === undefined ? setInterval(schedule, WATCH_ROOTS_REFRESH_MS) : undefined;
  try {
    await failure;
  } finally {
    clearInterval(refresh);
    clearTimeout(timer);
    for (const close of streams.values()) close();
  }
}

export function watchCommand(program: Command, context: (cmd: Command) => CliContext): void {
  program.command('watch').argument('[path]', 'a subtree (default: the whole tree)')
    .description('a live tree in the terminal (over /observe)')
    .action(async (path: string | undefined, _opts: unknown, cmd: Command) => watch(context(cmd), path));
}

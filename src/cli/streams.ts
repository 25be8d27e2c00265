import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { agentUrl, type StreamEvent } from './client.js';
import { EVENT_TYPES, logLine, summarise } from './events.js';
import { UsageError, type CliContext } from './output.js';

/** Without -f, `logs` prints the backlog and exits once the stream has been quiet this long (it comes in one burst). */
export const LOG_BACKLOG_QUIET_MS = 300;
/** Turns asked for a page (the route's most). */
const TRANSCRIPT_PAGE = 200;

/** A stream until `stop()` (then `done` resolves) or until it fails for good (then `done` rejects). */
function follow(ctx: CliContext, url: string, onEvent: (e: StreamEvent) => void, onOpen?: () => void) {
  let stop = () => {};
  const done = new Promise<void>((resolve, reject) => {
    const close = ctx.client.stream(url, EVENT_TYPES, {
      onEvent, ...(onOpen ? { onOpen } : {}),
      onError: (error) => {
        close();
        reject(error);
      },
    });
    stop = () => {
      close();
      resolve();
    };
  });
  return { done, stop: () => stop() };
}

async function logs(ctx: CliContext, path: string, opts: { follow?: boolean; tokens?: boolean }): Promise<void> {
  await ctx.client.get(`${agentUrl(path)}?depth=0`); // a missing agent is the API's 404 message, not a stream error
  let quiet: NodeJS.Timeout | undefined;
  const stream = follow(ctx, `${agentUrl(path, 'log')}${opts.tokens ? '?tokens=true' : ''}`, (e) => {
    if (e.type === 'token') {
      if (!ctx.json) process.stdout.write(String(e.text ?? ''));
    } else {
      ctx.out(ctx.json ? JSON.stringify(e) : logLine(e, ctx.colour, false));
    }
    if (quiet) quiet.refresh();
  }, () => {
    // The backlog is written in one burst as the stream opens: without -f, stop once it has been quiet a moment.
    if (!opts.follow) quiet = setTimeout(() => stream.stop(), LOG_BACKLOG_QUIET_MS);
  });
  try {
    await stream.done;
  } finally {
    clearTimeout(quiet);
  }
}

/**
 * Sends each line as a message and prints the agent's reply: `token` events as the text arrives when the daemon
 * streams them, otherwise the text of each `model_call`. Listens on /observe (no backlog: only what happens from
 * now) and keeps to the agent's own events. After the input ends, waits until the agent is idle again.
 */
async function chat(ctx: CliContext, path: string, opts: { message?: string[] }): Promise<void> {
  const agent = await ctx.client.get<{ path: string; state: string }>(`${agentUrl(path)}?depth=0`);
  const c = ctx.colour;
  const interactive = opts.message === undefined && process.stdin.isTTY === true;
  let streamed = false;
  let block: unknown = null;
  let waiting: { resolve: () => void; reject: (e: Error) => void } | null = null;
  let failure: Error | null = null;
  const settle = (error?: Error) => {
    const w = waiting;
    waiting = null;
    if (error) failure = error;
    if (w) (error ? w.reject(error) : w.resolve());
  };
  let opened: () => void = () => {};
  const open = new Promise<void>((resolve) => (opened = resolve));
  const close = ctx.client.stream(`${agentUrl(agent.path, 'observe')}?tokens=true`, EVENT_TYPES, {
    onOpen: () => opened(),
    onEvent: (e) => {
      if (e.path !== agent.path || e.type === 'heartbeat' || e.type === 'health') return;
      if (ctx.json) {
        if (waiting) ctx.out(JSON.stringify(e));
      } else if (e.type === 'token') {
        // A reply's text as it streams: named like a whole reply, a new line between its text blocks.
        if (!streamed || e.start === true) process.stdout.write(`${streamed ? '\n' : ''}${c.bold(agent.path)}: `);
        else if (e.index !== block) process.stdout.write('\n');
        block = e.index;
        streamed = true;
        process.stdout.write(String(e.text ?? ''));
      } else if (e.type === 'model_call') {
        if (streamed) process.stdout.write('\n');
        else if (typeof e.text === 'string' && e.text.length > 0) ctx.out(`${c.bold(agent.path)}: ${e.text}`);
        streamed = false;
      } else if (e.type === 'tool_call' || e.type === 'tool_result') {
        ctx.out(c.dim(`  [${e.type}] ${summarise(e, c)}`));
      } else if (e.type === 'suspended') {
        ctx.out(c.yellow(`${agent.path} suspended: ${summarise(e, c)}`));
      }
      if (e.type === 'state_change' && waiting) {
        if (e.to === 'idle') settle();
        else if (e.to === 'suspended' || e.to === 'dead' || e.to === 'terminating') settle(new UsageError(`${agent.path} is ${String(e.to)}${e.reason ? ` (${String(e.reason)})` : ''}`));
      }
    },
    onError: (error) => {
      settle(error);
      opened();
    },
  });
  await open;
  const send = async (text: string) => {
    if (failure) throw failure;
    const reply = new Promise<void>((resolve, reject) => (waiting = { resolve, reject }));
    await ctx.client.post(agentUrl(agent.path, 'message'), { content: text });
    await reply;
  };
  try {
    if (opts.message) {
      for (const text of opts.message) await send(text);
      return;
    }
    const lines = createInterface({ input: process.stdin, ...(interactive ? { output: process.stdout, prompt: c.dim('you> ') } : {}) });
    if (interactive) lines.prompt();
    for await (const line of lines) {
      if (line.trim().length > 0) await send(line);
      if (failure) throw failure;
      if (interactive) lines.prompt();
    }
  } finally {
    close();
  }
}

/** One turn of a transcript page (`GET /agents/{path}/conversation`: `{path, turns, next}`). */
interface TranscriptTurn { seq: number; kind: 'turn' | 'summary'; role: 'user' | 'assistant'; content: unknown }
interface TranscriptPage { path: string; turns: TranscriptTurn[]; next: number | null }

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return JSON.stringify(content);
  return content.map((block: { type?: string; text?: string; name?: string; input?: unknown; content?: unknown }) => {
    if (block.type === 'text') return block.text ?? '';
    if (block.type === 'tool_use') return `[tool_use ${block.name ?? ''} ${JSON.stringify(block.input)}]`;
    if (block.type === 'tool_result') return `[tool_result ${contentText(block.content)}]`;
    return JSON.stringify(block);
  }).join('\n');
}

/** Pages through the whole conversation (each page's `next` is the cursor of the one after), oldest first unless --newest. */
async function transcript(ctx: CliContext, path: string, opts: { newest?: boolean; limit?: number }): Promise<void> {
  if (opts.limit !== undefined && !(opts.limit > 0)) throw new UsageError('--limit must be a positive number of turns');
  const turns: TranscriptTurn[] = [];
  let after: number | null = null;
  do {
    const want = Math.min(TRANSCRIPT_PAGE, (opts.limit ?? Infinity) - turns.length);
    const query = new URLSearchParams({ limit: String(want), order: opts.newest ? 'desc' : 'asc', ...(after !== null ? { after: String(after) } : {}) });
    const page: TranscriptPage = await ctx.client.get<TranscriptPage>(`${agentUrl(path, 'conversation')}?${query}`);
    turns.push(...page.turns);
    after = page.next;
  } while (after !== null && turns.length < (opts.limit ?? Infinity));
  if (ctx.json) return ctx.out(JSON.stringify(turns, null, 2));
  const c = ctx.colour;
  for (const turn of turns) {
    const who = turn.kind === 'summary' ? c.yellow('summary') : turn.role === 'assistant' ? c.cyan('assistant') : c.bold('user');
    ctx.out(`${c.dim(`#${turn.seq}`)} ${who}\n${contentText(turn.content)}\n`);
  }
}

export function streamCommands(program: Command, context: (cmd: Command) => CliContext): void {
  program.command('logs').argument('<path>').description("the agent's log: recent entries, then (with -f) new ones as they happen")
    .option('-f, --follow', 'keep following')
    .option('--tokens', 'also print the text of model calls as it streams')
    .action(async (path: string, opts: { follow?: boolean; tokens?: boolean }, cmd: Command) => logs(context(cmd), path, opts));

  program.command('chat').argument('<path>').description("send messages (stdin lines, or -m) and print the agent's replies")
    .option('-m, --message <text...>', 'send these and exit once the agent is idle again')
    .action(async (path: string, opts: { message?: string[] }, cmd: Command) => chat(context(cmd), path, opts));

  program.command('transcript').argument('<path>').description("the agent's whole conversation")
    .option('--newest', 'newest first')
    .option('-n, --limit <turns>', 'at most this many turns', (v) => Number.parseInt(v, 10))
    .action(async (path: string, opts: { newest?: boolean; limit?: number }, cmd: Command) => transcript(context(cmd), path, opts));
}

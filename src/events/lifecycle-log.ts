import type { Logger } from 'pino';
import type { EventSink } from './bus.js';
import type { AgentEvent } from './types.js';

/** Goals and messages are cut in log lines: a line says which agent, not its whole brief. */
const LOG_TEXT_CHARS = 120;

type Line = { level: 'info' | 'warn'; text: string; fields?: Record<string, unknown> };

const cut = (value: unknown): string => {
  const text = String(value ?? '');
  return text.length > LOG_TEXT_CHARS ? `${text.slice(0, LOG_TEXT_CHARS)}…` : text;
};

/**
 * Who asked: ` by ops` for a key, ` by oversight`, ` by supervision`; nothing for the keyless operator (a daemon
 * without keys has no one else), so the common line stays short.
 */
const by = (data: Readonly<Record<string, unknown>>): string => (typeof data.by === 'string' && data.by !== 'operator' ? ` by ${data.by}` : '');
/** An operator's stated reason for a restart or a termination. */
const why = (data: Readonly<Record<string, unknown>>): string => (typeof data.reason === 'string' ? `: ${cut(data.reason)}` : '');

/**
 * The lines an operator watches for, one per lifecycle event; every other event (model calls, tool calls,
 * heartbeats) stays on `/log` and `/observe`. A table, so adding a line is one entry.
 */
const LINES: Record<string, (e: AgentEvent) => Line> = {
  spawned: (e) => ({ level: 'info', text: `agent ${e.path} spawned${by(e.data)}`, fields: { goal: cut((e.data.spec as { goal?: unknown } | undefined)?.goal) } }),
  suspended: (e) => ({
    level: 'info', text: `agent ${e.path} suspended: ${String(e.data.reason)}${e.data.detail ? ` (${cut(e.data.detail)})` : ''}${by(e.data)}`,
  }),
  resumed: (e) => ({ level: 'info', text: `agent ${e.path} resumed${by(e.data)}` }),
  restarted: (e) => ({
    level: 'info',
    text: `agent ${e.path} restarted (restart ${String(e.data.restart_count)}${e.data.cause && e.data.cause !== 'operator' ? `, ${cut(e.data.cause)}` : ''}` +
      `${Number(e.data.delay_ms) > 0 ? `, after ${Number(e.data.delay_ms)} ms` : ''})${by(e.data)}${why(e.data)}`,
  }),
  // Supervision's decision after a failed run: the failure and what happens next.
  supervision: (e) => ({
    level: 'warn',
    text: e.data.kind === 'restart'
      ? `agent ${e.path} failed; restarting in ${Number(e.data.delayMs)} ms (${cut(e.data.cause)})`
      : `agent ${e.path} failed: ${cut(e.data.message)}`,
  }),
  compacted: (e) => ({ level: 'info', text: `agent ${e.path} compacted its conversation` }),
  terminated: (e) => ({
    level: 'info', text: `agent ${e.path} terminated${e.data.cascade_from ? ` (with ${String(e.data.cascade_from)})` : `${by(e.data)}${why(e.data)}`}`,
  }),
  purged: (e) => ({ level: 'info', text: `agent ${e.path} purged` }),
};

/** A bus sink writing one log line per lifecycle event, each with the agent's path. */
export function lifecycleLog(logger: Logger): EventSink {
  const log = logger.child({ component: 'agents' });
  return (event) => {
    const describe = LINES[event.type];
    if (!describe || !log.isLevelEnabled('info')) return;
    const line = describe(event);
    log[line.level]({ path: event.path, event: event.type, ...line.fields }, line.text);
  };
}

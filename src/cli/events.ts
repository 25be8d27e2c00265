import type { StreamEvent } from './client.js';
import { clock, paintState, tokens, type Colours } from './output.js';

/** Every event type the daemon sends on /log and /observe; an EventSource hears only the types it names. */
export const EVENT_TYPES = [
  'spawned', 'state_change', 'suspended', 'resumed', 'restarted', 'terminated', 'purged', 'forked', 'checkpoint',
  'correction', 'correction_delivered', 'message', 'model_call', 'tool_call', 'tool_result', 'oversight', 'assessment',
  'judge_error', 'supervision', 'step_limit', 'schedule_tick', 'schedule_skipped', 'compacted', 'health', 'heartbeat',
  'reset', 'token',
] as const;

/** Long values are cut in a one-line summary; `auton logs --json` has them whole. */
const SUMMARY_CHARS = 200;

const oneLine = (value: unknown): string => {
  const text = (typeof value === 'string' ? value : JSON.stringify(value) ?? '').replace(/\s+/g, ' ').trim();
  return text.length > SUMMARY_CHARS ? `${text.slice(0, SUMMARY_CHARS)}…` : text;
};

/** What an event says, in one line. */
export function summarise(e: StreamEvent, c: Colours): string {
  switch (e.type) {
    case 'state_change': return `${paintState(c, String(e.from))} → ${paintState(c, String(e.to))}${e.reason ? ` (${String(e.reason)})` : ''}`;
    case 'spawned': return `goal: ${oneLine((e.spec as { goal?: unknown } | undefined)?.goal)}`;
    case 'suspended': return c.yellow(`${String(e.reason)}${e.detail ? `: ${oneLine(e.detail)}` : ''}`);
    case 'model_call': return `${tokens(Number(e.tokens ?? 0))} tok, ${String(e.stop_reason)}${e.text ? `: ${oneLine(e.text)}` : ''}`;
    case 'tool_call': return `${c.cyan(String(e.name ?? e.tool))} ${oneLine(e.input)}`;
    case 'tool_result': return `${String(e.name ?? e.tool ?? '')}${e.is_error ? c.red(' error') : ''} ${oneLine(e.content ?? e.output ?? e.result)}`.trim();
    case 'message': return oneLine(e.content);
    case 'correction': case 'correction_delivered': return oneLine(e.guidance);
    case 'restarted': return `restart ${String(e.restart_count)}${e.cause ? `, ${oneLine(e.cause)}` : ''}`;
    case 'supervision': return c.red(e.kind === 'restart' ? `restarting in ${String(e.delayMs)} ms: ${oneLine(e.cause)}` : oneLine(e.message));
    default: {
      const { type: _t, path: _p, timestamp: _ts, id: _id, ...rest } = e;
      return oneLine(rest);
    }
  }
}

/** `12:03:04  model_call  researcher  1.2k tok, end_turn: …` */
export function logLine(e: StreamEvent, c: Colours, showPath: boolean): string {
  return [c.dim(clock(e.timestamp)), e.type.padEnd(14), ...(showPath ? [c.bold(e.path)] : []), summarise(e, c)].join('  ');
}

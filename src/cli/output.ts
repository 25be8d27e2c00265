import { ApiError, AutonClient, ConnectionError } from './client.js';

/** What every command gets: the client and how to print (`--json`, colours). */
export interface CliContext {
  client: AutonClient;
  json: boolean;
  colour: Colours;
  out: (text: string) => void;
}

/** Exit codes, for scripts: 1 the API refused (its message is printed), 2 a usage error, 3 the daemon is unreachable. */
export const EXIT = { api: 1, usage: 2, unreachable: 3 } as const;

type Paint = (text: string) => string;
export interface Colours { red: Paint; green: Paint; yellow: Paint; blue: Paint; cyan: Paint; dim: Paint; bold: Paint }

/** ANSI colours, only on a terminal and never with NO_COLOR (https://no-color.org) or --no-color. */
export function colours(enabled: boolean): Colours {
  const sgr = (open: number, close: number): Paint => (enabled ? (t) => `\x1b[${open}m${t}\x1b[${close}m` : (t) => t);
  return { red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), blue: sgr(34, 39), cyan: sgr(36, 39), dim: sgr(2, 22), bold: sgr(1, 22) };
}

/** One colour a state: green when working, yellow when waiting on a person, red when stopped. */
export function paintState(c: Colours, state: string): string {
  if (state === 'running' || state === 'correcting' || state === 'spawning') return c.green(state);
  if (state === 'idle') return c.cyan(state);
  if (state === 'suspended') return c.yellow(state);
  return c.red(state);
}

/** 950, 12.3k, 4.5M */
export function tokens(n: number): string {
  if (n < 1_000) return String(n);
  if (n < 1_000_000) return `${(n / 1_000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** $0.0042, $1.27 */
export function dollars(usd: number): string {
  return usd < 0.01 && usd > 0 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** 45s, 12m, 3h, 2d */
export function duration(seconds: number): string {
  if (seconds < 60) return `${Math.floor(seconds)}s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3_600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** HH:MM:SS in local time. */
export function clock(iso: unknown): string {
  const date = new Date(String(iso));
  return Number.isNaN(date.getTime()) ? '--:--:--' : date.toLocaleTimeString('en-GB', { hour12: false });
}

/** Prints `value` as JSON with --json, else the human text. */
export function emit(ctx: CliContext, value: unknown, human: () => string): void {
  ctx.out(ctx.json ? JSON.stringify(value, null, 2) : human());
}

/** An error as one line on stderr and the exit code it means. */
export function report(error: unknown, write: (line: string) => void): number {
  if (error instanceof ApiError) {
    write(`auton: ${error.message}`);
    return EXIT.api;
  }
  if (error instanceof ConnectionError) {
    write(`auton: ${error.message}`);
    return EXIT.unreachable;
  }
  if (error instanceof UsageError) {
    write(`auton: ${error.message}`);
    return EXIT.usage;
  }
  throw error;
}

/** The command line asked for something that cannot be done (a missing file, a bad flag value). */
export class UsageError extends Error {}

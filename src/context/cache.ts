import { parseTurn, turnJson, type TurnJson } from '../domain/agent.js';
import type { ContextTurns } from '../domain/context-turns.js';

export type CacheTtl = '5m' | '1h';

/** `cache_control` as the Messages API takes it (5m is the API's default; written out all the same). */
export function cacheControl(ttl: CacheTtl): { type: 'ephemeral'; ttl: CacheTtl } {
  return { type: 'ephemeral', ttl };
}

/**
 * A turn with a cache breakpoint on its last block. Breakpoints go, in prefix order: on the last tool (tools change
 * never), on the previous call's last turn (so a long tool turn in between never hides it from the API's ~20-block
 * lookback) and on the last turn (what the next call reads back): three of the API's four. A request sends every
 * other turn as it is stored, and most breakpoints without parsing either (see messagePieces).
 */
export function withBreakpoint(turn: TurnJson, ttl: CacheTtl): TurnJson {
  const parsed = parseTurn(turn);
  const blocks: Array<Record<string, unknown>> = typeof parsed.content === 'string'
    ? [{ type: 'text', text: parsed.content }]
    : Array.isArray(parsed.content) ? (parsed.content as Array<Record<string, unknown>>) : [];
  const last = blocks.at(-1);
  if (!last || !canCarry(last)) return turn;
  blocks[blocks.length - 1] = { ...last, cache_control: cacheControl(ttl) };
  return turnJson({ role: parsed.role, content: blocks });
}

/** How a breakpoint goes on a stored turn (learnt once per turn, see ContextTurns.memo). */
const AFTER_LAST_KEY = 0;
const REWRITTEN = 1;
const NONE = 2;

/**
 * A turn whose content is an array ending in a block that can carry `cache_control` takes it as that block's last
 * key: written between the stored bytes and their closing `}]}`, the same JSON `withBreakpoint` makes, with nothing
 * parsed or encoded again on the call. A string content is rewritten as a block (rare: the first user turn).
 */
function breakpointForm(json: TurnJson): number {
  const { content } = parseTurn(json);
  if (typeof content === 'string') return canCarry({ type: 'text', text: content }) ? REWRITTEN : NONE;
  if (!Array.isArray(content) || !canCarry(content.at(-1))) return NONE;
  return json.endsWith('}]}') ? AFTER_LAST_KEY : REWRITTEN;
}

/** Thinking blocks cannot carry cache_control; an empty text block cannot either. */
function canCarry(block: unknown): boolean {
  if (typeof block !== 'object' || block === null) return false;
  const { type, text } = block as { type?: unknown; text?: unknown };
  return type !== 'thinking' && type !== 'redacted_thinking' && !(type === 'text' && text === '');
}

/**
 * The messages of a request from turn `start` on, as pieces of JSON (commas included): each turn's stored bytes as
 * they are, and with `ttl` the two rolling breakpoints set (on `previousEnd`, the previous call's last turn, when it
 * lies inside, and on the last turn).
 */
export function messagePieces(turns: ContextTurns, start: number, previousEnd: number, ttl: CacheTtl | null): Array<string | Uint8Array> {
  const pieces: Array<string | Uint8Array> = [];
  const last = turns.length - 1;
  for (let i = start; i <= last; i++) {
    if (i > start) pieces.push(',');
    const breakpoint = ttl !== null && (i === last || (i === previousEnd && i > start));
    const form = breakpoint ? turns.memo(i, breakpointForm) : NONE;
    if (form === NONE) pieces.push(turns.view(i));
    else if (form === REWRITTEN) pieces.push(withBreakpoint(turns.at(i)!, ttl!));
    else {
      const bytes = turns.view(i);
      pieces.push(bytes.subarray(0, bytes.length - 3), `,"cache_control":${JSON.stringify(cacheControl(ttl!))}}]}`);
    }
  }
  return pieces;
}

/** Prompts at least this long would be cached by any provider that caches (the largest model minimum is 4,096). */
const TELLING_PROMPT_TOKENS = 8_192;
/** Calls with breakpoints and a telling prompt that show no cache activity before caching is taken as absent. */
const CALLS_TO_DECIDE = 3;

/**
 * Whether the provider caches prompts, learnt from its answers: the first cache write or read settles it as yes;
 * three long prompts with breakpoints and none settles it as no (Ollama, most compatible servers), and requests
 * then go without breakpoints. Never an error: caching only changes what a call costs.
 */
export class CacheSupport {
  private verdict: boolean | null = null;
  private misses = 0;

  get enabled(): boolean {
    return this.verdict !== false;
  }

  /** Returns true exactly once: when caching has just been found absent (for a warning). */
  observe(sentBreakpoints: boolean, promptTokens: number, cacheWrite: number, cacheRead: number): boolean {
    if (this.verdict !== null || !sentBreakpoints) return false;
    if (cacheWrite > 0 || cacheRead > 0) {
      this.verdict = true;
      return false;
    }
    if (promptTokens < TELLING_PROMPT_TOKENS) return false;
    if (++this.misses < CALLS_TO_DECIDE) return false;
    this.verdict = false;
    return true;
  }
}

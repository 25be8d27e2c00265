import { parseTurn, turnJson, type TurnJson } from '../domain/agent.js';

export type CacheTtl = '5m' | '1h';

/** `cache_control` as the Messages API takes it (5m is the API's default; written out all the same). */
export function cacheControl(ttl: CacheTtl): { type: 'ephemeral'; ttl: CacheTtl } {
  return { type: 'ephemeral', ttl };
}

/**
 * A turn with a cache breakpoint on its last block. Breakpoints go, in prefix order: on the last tool (tools change
 * never), on the previous call's last turn (so a long tool turn in between never hides it from the API's ~20-block
 * lookback) and on the last turn (what the next call reads back): three of the API's four. Only these two turns
 * are parsed and encoded again; the rest of the request stays a join of stored turn texts.
 */
export function withBreakpoint(turn: TurnJson, ttl: CacheTtl): TurnJson {
  const parsed = parseTurn(turn);
  const blocks: Array<Record<string, unknown>> = typeof parsed.content === 'string'
    ? [{ type: 'text', text: parsed.content }]
    : Array.isArray(parsed.content) ? (parsed.content as Array<Record<string, unknown>>) : [];
  const last = blocks.at(-1);
  // Thinking blocks cannot carry cache_control; an empty text block cannot either.
  if (!last || last.type === 'thinking' || last.type === 'redacted_thinking' || (last.type === 'text' && last.text === '')) return turn;
  blocks[blocks.length - 1] = { ...last, cache_control: cacheControl(ttl) };
  return turnJson({ role: parsed.role, content: blocks });
}

/** The messages of a request with the two rolling breakpoints set (the previous call's last turn and the last). */
export function messagesWithBreakpoints(messages: readonly TurnJson[], previousEnd: number, ttl: CacheTtl): TurnJson[] {
  const out = messages.slice();
  const last = out.length - 1;
  if (last < 0) return out;
  if (previousEnd > 0 && previousEnd < last) out[previousEnd] = withBreakpoint(out[previousEnd]!, ttl);
  out[last] = withBreakpoint(out[last]!, ttl);
  return out;
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

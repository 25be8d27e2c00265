import { ContextTurns } from '../domain/context-turns.js';

/**
 * A deliberately high estimate of the tokens in JSON text: the Messages API's tokenizers give about 3.5–4
 * characters of English a token, fewer for JSON escapes and code. Overestimating only compacts a little early;
 * underestimating is a refused request. The bulk of every estimate is the API's own count from the previous call
 * (see ContextGauge); this covers only what was added since.
 */
export const CHARS_PER_TOKEN = 3;

export function estimateTokens(jsonText: string): number {
  return Math.ceil(jsonText.length / CHARS_PER_TOKEN);
}

/** Tokens of a few turns (JSON texts). */
export function estimateTurns(turns: readonly string[] | ContextTurns, from = 0, to = turns.length): number {
  if (turns instanceof ContextTurns) return Math.ceil(turns.charsBetween(from, to) / CHARS_PER_TOKEN);
  let chars = 0;
  for (let i = from; i < to; i++) chars += turns[i]!.length;
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

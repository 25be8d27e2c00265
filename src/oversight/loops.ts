/** How many times a pattern must repeat back to back to count as a loop (the seed's "3+ repeated patterns"). */
export const LOOP_REPEATS = 3;
/** The longest cycle looked for: A,B,A,B,A,B is a loop of period 2. */
export const MAX_LOOP_PERIOD = 4;
/** How many recent tool calls an agent keeps for this. */
export const TOOL_HISTORY = LOOP_REPEATS * MAX_LOOP_PERIOD;

/** The identity of a tool call: its name and input, so the same call with the same arguments matches. */
export function toolSignature(name: string, input: unknown): string {
  return `${name}:${stableJson(input)}`;
}

/**
 * The period of a loop at the end of `calls` (the same call 3+ times in a row, or a short cycle repeated
 * 3 times), or 0 when there is none.
 */
export function loopPeriod(calls: readonly string[]): number {
  for (let period = 1; period <= MAX_LOOP_PERIOD; period++) {
    const span = period * LOOP_REPEATS;
    if (calls.length < span) break;
    const start = calls.length - span;
    let repeating = true;
    for (let i = start + period; i < calls.length && repeating; i++) repeating = calls[i] === calls[i - period];
    if (repeating) return period;
  }
  return 0;
}

function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}

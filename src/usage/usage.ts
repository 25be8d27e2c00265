import type { AgentRecord } from '../domain/agent.js';

/**
 * The five token counts of one model call, as billed. `input` is the uncached part only; the prompt a call sent is
 * input + both cache writes + cache read (the Messages API's usage fields, see README "Usage and cost").
 */
export interface UsageFigures {
  input: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
  output: number;
}

export const ZERO_USAGE: UsageFigures = Object.freeze({ input: 0, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0, output: 0 });

/** A count larger than any real call could bill: a provider answering more is wrong, not generous. */
const MAX_COUNT = 100_000_000;

/**
 * The usage of a reply, checked at the edge: a field that is not a non-negative whole number (a string, a negative,
 * NaN, absurdly large) counts as 0 and is named in `problems`, so it never reaches tokens_total or a budget.
 * Without `cache_creation`'s split, a cache write is taken as 5-minute (the API's default TTL).
 */
export function parseUsage(raw: unknown): { figures: UsageFigures; problems: string[] } {
  const problems: string[] = [];
  const usage = isRecord(raw) ? raw : {};
  if (!isRecord(raw)) problems.push('usage is missing');
  const count = (from: Record<string, unknown>, key: string, label = key): number => {
    const value = from[key];
    if (value === undefined || value === null) return 0;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_COUNT) return value;
    problems.push(`${label} is ${JSON.stringify(value)}`);
    return 0;
  };
  const input = count(usage, 'input_tokens');
  const output = count(usage, 'output_tokens');
  const cacheRead = count(usage, 'cache_read_input_tokens');
  const written = count(usage, 'cache_creation_input_tokens');
  let cacheWrite5m = written;
  let cacheWrite1h = 0;
  if (isRecord(usage.cache_creation)) {
    const split = usage.cache_creation;
    const fiveMinutes = count(split, 'ephemeral_5m_input_tokens', 'cache_creation.ephemeral_5m_input_tokens');
    cacheWrite1h = count(split, 'ephemeral_1h_input_tokens', 'cache_creation.ephemeral_1h_input_tokens');
    // The total is what is billed: whatever the split leaves out is taken as 5-minute.
    cacheWrite5m = Math.max(fiveMinutes, written - cacheWrite1h);
  }
  return { figures: { input, cacheWrite5m, cacheWrite1h, cacheRead, output }, problems };
}

/** The prompt a call sent, in tokens: uncached input, cache writes and cache reads. */
export function promptTokens(u: UsageFigures): number {
  return u.input + u.cacheWrite5m + u.cacheWrite1h + u.cacheRead;
}

/**
 * What `tokens_total`, `token_rate` and the token budgets count: tokens processed at full price or more (input,
 * cache writes, output). Cache reads are left out (they cost a tenth of an input token) and shown on their own.
 */
export function countedTokens(u: UsageFigures): number {
  return u.input + u.cacheWrite5m + u.cacheWrite1h + u.output;
}

/** The usage fields of a `model_call` event (and of `judge_call`). */
export function usageJson(u: UsageFigures): Record<string, number> {
  return {
    input_tokens: u.input, cache_write_5m_tokens: u.cacheWrite5m, cache_write_1h_tokens: u.cacheWrite1h,
    cache_read_tokens: u.cacheRead, output_tokens: u.output,
  };
}

/**
 * Adds a call's usage to the agent's health at once: tokens_total, the hourly token_rate, the five counts and the
 * cost (`null` from the first call whose model has no price: a partial sum would pass for the whole). Returns the
 * tokens counted.
 */
export function recordUsage(agent: AgentRecord, u: UsageFigures, costUsd: number | null, nowMs: number): number {
  const tokens = countedTokens(u);
  const h = agent.health;
  h.tokens_total += tokens;
  // Rows stored before these fields existed lack them.
  h.input_tokens = (h.input_tokens ?? 0) + u.input;
  h.output_tokens = (h.output_tokens ?? 0) + u.output;
  h.cache_write_5m_tokens = (h.cache_write_5m_tokens ?? 0) + u.cacheWrite5m;
  h.cache_write_1h_tokens = (h.cache_write_1h_tokens ?? 0) + u.cacheWrite1h;
  h.cache_read_tokens = (h.cache_read_tokens ?? 0) + u.cacheRead;
  h.cost_usd = costUsd === null || h.cost_usd === null ? null : roundUsd((h.cost_usd ?? 0) + costUsd);
  // One sample per minute at most, so an agent making thousands of calls an hour keeps at most 60 of them.
  const minute = nowMs - (nowMs % 60_000);
  const last = agent.tokenSamples.at(-1);
  if (last && last.atMs === minute) last.tokens += tokens;
  else agent.tokenSamples.push({ atMs: minute, tokens });
  h.token_rate = tokensInLastHour(agent, nowMs);
  return tokens;
}

/** Dollars kept to a millionth of a cent's tenth: sums of many small costs stay exact enough and print short. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}

const HOUR_MS = 3_600_000;

/** Tokens counted in the last hour; also drops older samples so the list stays short. */
export function tokensInLastHour(agent: AgentRecord, nowMs: number): number {
  const samples = agent.tokenSamples;
  let firstRecent = 0;
  while (firstRecent < samples.length && samples[firstRecent]!.atMs <= nowMs - HOUR_MS) firstRecent++;
  if (firstRecent > 0) samples.splice(0, firstRecent);
  let total = 0;
  for (const s of samples) total += s.tokens;
  return total;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

import type Anthropic from '@anthropic-ai/sdk';
import type { AgentRecord } from '../domain/agent.js';
import { tokensInLastHour } from '../oversight/checks.js';

/** Adds a response's usage to the agent's health at once (tokens_total and the hourly token_rate). */
export function recordUsage(agent: AgentRecord, usage: Anthropic.Usage, nowMs: number): number {
  const tokens = usage.input_tokens + usage.output_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
  agent.health.tokens_total += tokens;
  // One sample per minute at most, so an agent making thousands of calls an hour keeps at most 60 of them.
  const minute = nowMs - (nowMs % 60_000);
  const last = agent.tokenSamples.at(-1);
  if (last && last.atMs === minute) last.tokens += tokens;
  else agent.tokenSamples.push({ atMs: minute, tokens });
  agent.health.token_rate = tokensInLastHour(agent, nowMs);
  return tokens;
}

import type { AgentRecord } from '../domain/agent.js';
import { estimateTokens, estimateTurns } from './estimate.js';

interface Reading {
  epoch: number;
  turns: number;
  tokens: number;
}

/**
 * The size of an agent's next prompt, from the API's own count for the previous call plus an estimate of the turns
 * added since: exact where it matters (the bulk), and costing work proportional to what was added, not to the
 * history. After the context was replaced (compaction, restart, fork) the whole of it is estimated once.
 */
export class ContextGauge {
  private readonly readings = new WeakMap<AgentRecord, Reading>();

  /** Records what the API counted for a prompt of the agent's first `turns` turns. */
  measured(agent: AgentRecord, turns: number, promptTokens: number): void {
    if (promptTokens <= 0) return this.forget(agent); // no usable count (a provider without usage figures)
    this.readings.set(agent, { epoch: agent.conversationEpoch, turns, tokens: promptTokens });
  }

  /** How many turns the previous call sent (0 when unknown or the context was replaced since). */
  lastTurns(agent: AgentRecord): number {
    const r = this.readings.get(agent);
    return r && r.epoch === agent.conversationEpoch ? r.turns : 0;
  }

  forget(agent: AgentRecord): void {
    this.readings.delete(agent);
  }

  /** `head` is the request without its messages (system prompt, tools): counted only when there is no reading. */
  estimate(agent: AgentRecord, head: string): number {
    const conversation = agent.conversation;
    const r = this.readings.get(agent);
    if (r && r.epoch === agent.conversationEpoch && r.turns <= conversation.length) {
      return r.tokens + estimateTurns(conversation, r.turns);
    }
    return estimateTokens(head) + estimateTurns(conversation);
  }
}

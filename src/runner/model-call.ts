import type Anthropic from '@anthropic-ai/sdk';
import { planCompaction, promptBudget, shouldCompact, summariserPrompt, SUMMARISER_SYSTEM, summaryTurn, SUMMARY_MAX_TOKENS, KEEP_SHARE, transcript } from '../context/compaction.js';
import { cacheControl, CacheSupport, messagePieces, type CacheTtl } from '../context/cache.js';
import { estimateTokens, estimateTurns } from '../context/estimate.js';
import { ContextGauge } from '../context/gauge.js';
import type { WindowTable } from '../context/windows.js';
import { turnJson, type AgentRecord } from '../domain/agent.js';
import type { ContextTurns } from '../domain/context-turns.js';
import { LIMITS } from '../domain/limits.js';
import { ContextOverflowError, promptTooLong, requestBody, requestJson, type ModelClient, type RequestBody, type TextDelta } from '../model/client.js';
import type { Runtime } from '../runtime/runtime.js';
import type { MeteredUsage, UsageMeter } from '../usage/meter.js';
import { promptTokens, usageJson } from '../usage/usage.js';

/** Compactions one call may make after the API said the prompt is too long, each keeping fewer recent turns. */
const MAX_OVERFLOW_COMPACTIONS = 3;

export interface ModelCallDeps {
  runtime: Runtime;
  model: ModelClient;
  windows: WindowTable;
  meter: UsageMeter;
}

/** A model call's outcome as the runner needs it. */
export interface CallResult extends MeteredUsage {
  reply: Anthropic.Message;
}

/** What an agent's request is made of besides its conversation. */
export interface RequestHead {
  system: string;
  tools: Anthropic.ToolUnion[];
}

/**
 * An agent's model calls, fitted to its model's window (see README "Context, caching and cost"): the prompt's size
 * is the API's count for the previous call plus an estimate of what was added; past COMPACT_AT_SHARE of the window
 * the older turns are compacted first; a `prompt is too long` answer or a `model_context_window_exceeded` stop
 * compacts harder and sends again. Requests carry prompt-cache breakpoints unless the agent or the provider has none.
 */
export class ModelCaller {
  readonly gauge = new ContextGauge();
  readonly cache = new CacheSupport();

  constructor(private readonly deps: ModelCallDeps) {}

  /** One model call; null when `stale()` turned true while it was in flight. */
  async call(agent: AgentRecord, head: RequestHead, signal: AbortSignal, stale: () => boolean): Promise<CallResult | null> {
    const window = this.deps.windows.windowOf(agent.spec.model);
    const maxReply = agent.spec.max_tokens ?? LIMITS.replyDefaultTokens;
    let compactions = 0;
    let checked = false;
    for (;;) {
      const { json, headJson, turns, cached } = this.request(agent, head);
      if (!checked) {
        checked = true;
        const estimate = this.gauge.estimate(agent, headJson);
        if (shouldCompact(estimate, window, maxReply) && await this.compact(agent, headJson, window, maxReply, 0, 'threshold', signal, false)) {
          if (stale()) return null;
          continue;
        }
      }
      let reply: Anthropic.Message;
      try {
        reply = await this.deps.model.stream(json, signal, this.tokens(agent, stale));
      } catch (error) {
        const tooLong = promptTooLong(error);
        if (!tooLong || stale()) throw error;
        if (compactions >= MAX_OVERFLOW_COMPACTIONS) throw overflow(agent, `the API still counts ${tooLong.tokens} tokens > ${tooLong.maximum} after ${compactions} compactions`);
        await this.compact(agent, headJson, window, maxReply, ++compactions, 'prompt_too_long', signal, true);
        if (stale()) return null;
        continue;
      }
      if (stale()) return null;
      const result = this.record(agent, reply);
      const prompt = promptTokens(result.usage);
      this.gauge.measured(agent, turns, prompt);
      agent.health.context_tokens = prompt;
      if (this.cache.observe(cached, prompt, result.usage.cacheWrite5m + result.usage.cacheWrite1h, result.usage.cacheRead)) {
        this.deps.runtime.emit(agent, 'warning', { detail: 'the model provider reports no prompt caching: requests are sent without cache breakpoints from now on' });
      }
      if (reply.stop_reason === 'model_context_window_exceeded' && compactions < MAX_OVERFLOW_COMPACTIONS) {
        // The reply was cut off by the window: dropped (its usage is counted), the context compacted, asked again.
        this.deps.runtime.emit(agent, 'model_call', { model: reply.model, stop_reason: reply.stop_reason, tokens: result.tokens, dropped: true, ...usageJson(result.usage), cost_usd: result.costUsd });
        await this.compact(agent, headJson, window, maxReply, ++compactions, 'context_window_exceeded', signal, true);
        if (stale()) return null;
        continue;
      }
      return result;
    }
  }

  /**
   * Publishes a reply's text deltas as ephemeral `token` events (see README "Live tokens"): none once the call is
   * stale (the agent suspended or restarted), so nothing follows the state change that halted it.
   */
  private tokens(agent: AgentRecord, stale: () => boolean): TextDelta {
    const { bus } = this.deps.runtime;
    const path = agent.path;
    let first = true;
    return (text, index) => {
      if (stale()) return;
      bus.publishEphemeral(path, 'token', first ? { path, text, index, start: true } : { path, text, index });
      first = false;
    };
  }

  /** The request body: stored turns as they are, breakpoints on the two rolling turns, tools and system. */
  private request(agent: AgentRecord, head: RequestHead): { json: RequestBody; headJson: string; turns: number; cached: boolean } {
    const ttl: CacheTtl | null = agent.spec.prompt_cache === 'off' || !this.cache.enabled ? null : (agent.spec.prompt_cache ?? '5m');
    const conversation = agent.conversation;
    const start = validStart(conversation);
    const tools: Anthropic.ToolUnion[] = ttl && head.tools.length > 0
      ? [...head.tools.slice(0, -1), { ...head.tools.at(-1)!, cache_control: cacheControl(ttl) } as Anthropic.ToolUnion]
      : head.tools;
    // No breakpoint on the system prompt: the tools' and the conversation's cover it, and a system prompt kept a plain
    // string is what every compatible server takes.
    const system = head.system;
    const thinking = agent.spec.thinking ? { thinking: { type: 'enabled' as const, budget_tokens: agent.spec.thinking.budget_tokens } } : {};
    const fields = { model: agent.spec.model, max_tokens: agent.spec.max_tokens ?? LIMITS.replyDefaultTokens, system, tools, ...thinking };
    const json = requestBody({ ...fields, stream: true }, messagePieces(conversation, start, this.gauge.lastTurns(agent) - 1, ttl));
    return { json, headJson: JSON.stringify(fields), turns: conversation.length, cached: ttl !== null };
  }

  /** Adds a reply's usage and cost to the agent's health. */
  private record(agent: AgentRecord, reply: Anthropic.Message): CallResult {
    return { reply, ...this.deps.meter.record(agent, reply.usage, reply.model || agent.spec.model) };
  }

  /**
   * Replaces the older turns by a summary the model writes. `level` 0 keeps KEEP_SHARE of the window verbatim, each
   * level after a refusal half as much. False when there is nothing to compact and `must` is false; throws
   * ContextOverflowError when `must` and nothing compaction can do would fit.
   */
  private async compact(
    agent: AgentRecord, headJson: string, window: number, maxReply: number, level: number,
    trigger: string, signal: AbortSignal, must: boolean,
  ): Promise<boolean> {
    const conversation = agent.conversation;
    const budget = promptBudget(window, maxReply);
    const keep = Math.floor((KEEP_SHARE * budget) / 2 ** level);
    const maxKept = budget - SUMMARY_MAX_TOKENS - estimateTokens(headJson);
    const plan = planCompaction(conversation, keep, maxKept);
    if (!plan || (plan.keepFrom === 1 && conversation.isSummary(0) && level === 0)) {
      if (!must) return false;
      throw overflow(agent, plan ? 'it is already compacted as far as it can be' : `its most recent exchange alone is about ${estimateTurns(conversation, Math.max(0, conversation.length - 2))} tokens`);
    }
    const older = conversation.slice(0, plan.keepFrom);
    const olderTokens = estimateTurns(conversation, 0, plan.keepFrom);
    const before = this.gauge.estimate(agent, headJson);
    const prompt = summariserPrompt(agent.spec.goal, transcript(older, promptBudget(window, SUMMARY_MAX_TOKENS) - 1_000));
    const reply = await this.deps.model.create(requestJson({
      model: agent.spec.model, max_tokens: SUMMARY_MAX_TOKENS, system: SUMMARISER_SYSTEM,
    }, [turnJson({ role: 'user', content: prompt })]), signal);
    const summary = reply.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('\n').trim();
    // A failed or empty summary changes nothing: the turns stay, and the failure is supervised like any model call.
    if (!summary) throw new Error('the compaction call returned no summary');
    const used = this.record(agent, reply);
    if (agent.conversation !== conversation) return true; // replaced meanwhile (a restart): nothing to compact
    const turn = summaryTurn(summary);
    this.deps.runtime.compactConversation(agent, turn, plan.keepFrom, {
      trigger, model: reply.model || agent.spec.model, turns_in: plan.keepFrom, tokens_in: olderTokens, summary_tokens: used.usage.output,
      prompt_tokens_before: before, prompt_tokens_after: estimateTokens(headJson) + estimateTokens(turn) + plan.keptTokens,
      tokens: used.tokens, ...usageJson(used.usage), cost_usd: used.costUsd,
    });
    this.gauge.forget(agent);
    return true;
  }
}

function overflow(agent: AgentRecord, why: string): ContextOverflowError {
  return new ContextOverflowError(
    `the conversation no longer fits ${agent.spec.model}'s context window even after compaction: ${why}. `
    + 'Restart the agent (from a checkpoint or fresh), or give it a model with a larger window (AUTON_MODEL_WINDOWS_FILE)',
  );
}

/**
 * The first turn a request may start with: a user turn that is not a bare tool result. A conversation restored
 * from part of a long history can begin mid-exchange; a fresh or compacted one starts right (checked in O(1)).
 */
function validStart(conversation: ContextTurns): number {
  let start = 0;
  while (start < conversation.length - 1 && !conversation.isPlainUser(start)) start++;
  return start;
}

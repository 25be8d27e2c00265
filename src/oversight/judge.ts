import type Anthropic from '@anthropic-ai/sdk';
import { parseTurn, turnJson, type AgentRecord } from '../domain/agent.js';
import { isAbort, requestJson, type ModelClient } from '../model/client.js';
import type { Runtime } from '../runtime/runtime.js';
import type { UsageMeter } from '../usage/meter.js';
import { usageJson } from '../usage/usage.js';
import type { OversightEngine } from './engine.js';

/** Recent turns the judge reads, and how much of each. */
const JUDGE_TURNS = 12;
const JUDGE_TURN_CHARS = 2_000;

export interface JudgeOptions {
  model: string;
  /** Judge after every N model calls of an agent; 0 turns the judge off. */
  everyTurns: number;
}

export interface Assessment {
  coherence: number;
  assessment: string;
}

const ASSESSMENT_TOOL: Anthropic.Tool = {
  name: 'report_assessment',
  description: "Report how coherent the agent's recent work is with its goal.",
  input_schema: {
    type: 'object',
    properties: {
      coherence: { type: 'number', minimum: 0, maximum: 1, description: '1 = fully on goal and coherent, 0 = unrelated or incoherent' },
      assessment: { type: 'string', description: 'One or two sentences: why' },
    },
    required: ['coherence', 'assessment'],
  },
};

/**
 * The drift judge: a small model reads the goal and recent turns and scores coherence through a forced tool call.
 * `coherence` becomes the agent's health.coherence, `drift` accumulates 1 - coherence, and the oversight engine
 * then decides (drift past the policy's threshold, or coherence below 0.3, suspends).
 */
export function createJudge(runtime: Runtime, model: ModelClient, oversight: OversightEngine, meter: UsageMeter, options: JudgeOptions) {
  const judgeError = (agent: AgentRecord, detail: string): void => runtime.emit(agent, 'judge_error', { detail });
  return async function judgeAfterTurn(agent: AgentRecord, signal: AbortSignal): Promise<void> {
    if (options.everyTurns === 0 || agent.turnCount % options.everyTurns !== 0 || !model.configured) return;
    // Whatever goes wrong with the judge (an API error, a reply that is not a message) is the judge's failure, a
    // judge_error event: never the agent's, which would be restarted and suspended for it.
    try {
      await judge(agent, signal);
    } catch (error) {
      if (!isAbort(error)) judgeError(agent, error instanceof Error ? error.message : String(error));
    }
  };

  async function judge(agent: AgentRecord, signal: AbortSignal): Promise<void> {
    const reply: Anthropic.Message = await model.create(requestJson({
        model: options.model,
        max_tokens: 512,
        system: 'You are an oversight judge for autonomous agents. Assess whether the agent is still working coherently towards its goal.',
        tools: [ASSESSMENT_TOOL],
        tool_choice: { type: 'tool', name: ASSESSMENT_TOOL.name },
      }, [turnJson({ role: 'user', content: judgePrompt(agent) })]), signal);
    const used = meter.record(agent, reply.usage, options.model);
    runtime.emit(agent, 'judge_call', {
      model: options.model, tokens: used.tokens, tokens_total: agent.health.tokens_total, ...usageJson(used.usage),
      cost_usd: used.costUsd, cost_usd_total: agent.health.cost_usd ?? null,
    });
    runtime.save(agent);
    // The judge's call is a model call too: its tokens may cross the budget, and the agent must not call again.
    if (oversight.afterModelCall(agent)) return;
    const result = parseAssessment(reply);
    if (!result) return judgeError(agent, 'the judge answered without a coherence score');
    agent.health.coherence = result.coherence;
    agent.health.drift = Math.round((agent.health.drift + (1 - result.coherence)) * 1000) / 1000;
    runtime.emit(agent, 'assessment', { coherence: result.coherence, drift: agent.health.drift, assessment: result.assessment });
    runtime.save(agent);
    oversight.afterAssessment(agent);
  }
}

function judgePrompt(agent: AgentRecord): string {
  const turns = agent.conversation.slice(-JUDGE_TURNS).map(parseTurn).map((turn) => `${turn.role.toUpperCase()}: ${renderContent(turn.content).slice(0, JUDGE_TURN_CHARS)}`);
  return `The agent's goal:\n${agent.spec.goal}\n\nIts most recent turns:\n${turns.join('\n\n')}\n\nCall report_assessment with your score.`;
}

function renderContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return JSON.stringify(content);
  return content.map((block: Record<string, unknown>) => {
    if (block.type === 'text') return String(block.text);
    if (block.type === 'tool_use') return `[tool ${String(block.name)} ${JSON.stringify(block.input)}]`;
    if (block.type === 'tool_result') return `[result ${typeof block.content === 'string' ? block.content : JSON.stringify(block.content)}]`;
    return `[${String(block.type)}]`;
  }).join(' ');
}

/** The forced tool call's input, or failing that a JSON object in a text answer. */
export function parseAssessment(reply: Anthropic.Message): Assessment | null {
  if (!Array.isArray(reply.content)) return null;
  for (const block of reply.content) {
    if (block.type === 'tool_use') {
      const parsed = asAssessment(block.input);
      if (parsed) return parsed;
    }
  }
  for (const block of reply.content) {
    if (block.type !== 'text') continue;
    const match = /\{[\s\S]*\}/.exec(block.text);
    if (!match) continue;
    try {
      const parsed = asAssessment(JSON.parse(match[0]));
      if (parsed) return parsed;
    } catch {
      // not JSON: keep looking
    }
  }
  return null;
}

function asAssessment(value: unknown): Assessment | null {
  if (typeof value !== 'object' || value === null) return null;
  const { coherence, assessment } = value as Record<string, unknown>;
  const score = typeof coherence === 'string' ? Number(coherence) : coherence;
  if (typeof score !== 'number' || !Number.isFinite(score)) return null;
  return { coherence: Math.min(1, Math.max(0, score)), assessment: typeof assessment === 'string' ? assessment : '' };
}

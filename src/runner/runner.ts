import type Anthropic from '@anthropic-ai/sdk';
import { parseTurn, turnJson, type AgentRecord, type TurnJson } from '../domain/agent.js';
import { preview } from '../events/preview.js';
import { isActive } from '../domain/states.js';
import type { WindowTable } from '../context/windows.js';
import { isAbort, MissingApiKeyError, type ModelClient } from '../model/client.js';
import type { OversightEngine } from '../oversight/engine.js';
import type { AgentDriver } from '../runtime/driver.js';
import type { Runtime } from '../runtime/runtime.js';
import type { UsageMeter } from '../usage/meter.js';
import { usageJson } from '../usage/usage.js';
import { ModelCaller, type CallResult } from './model-call.js';
import { EMPTY_REPLY_TEXT, inboxBlocks, interruptedToolResults, START_TEXT, systemPrompt } from './prompt.js';
import { toolErrorMessage } from './tools/coordination.js';
import { toolsetFor, type McpToolSource } from './tools/registry.js';
import { toolOutputText, type ClientTool, type ToolOutput } from './tools/tool.js';
import { EMPTY_ALLOW_LIST } from '../net/address-policy.js';
import type { FetchPolicy } from '../net/safe-fetch.js';
import type { ApprovalRegistry } from '../approvals/registry.js';
import { heldReply } from '../approvals/held.js';

const PUBLIC_ONLY: FetchPolicy = { allow: EMPTY_ALLOW_LIST };

/** How much of a tool result or reply text goes into an event (the conversation keeps all of it). */
const EVENT_TEXT_CHARS = 500;

export interface RunnerDeps {
  runtime: Runtime;
  model: ModelClient;
  oversight: OversightEngine;
  windows: WindowTable;
  meter: UsageMeter;
  /** Model calls one wake may make before the agent is set idle (AUTON_MAX_TURN_STEPS). */
  maxTurnSteps: number;
  /** Called after a model call; may assess the agent (the drift judge). */
  afterTurn?: (agent: AgentRecord, signal: AbortSignal) => Promise<void>;
  /** A model call failed for good: supervision decides what happens to the agent. */
  onFailure: (agent: AgentRecord, error: unknown) => void;
  /** What fetch_webpage may reach; default: public addresses only. */
  fetchPolicy?: FetchPolicy;
  /** The operator's MCP servers' tools (AUTON_MCP_CONFIG). */
  mcp?: McpToolSource;
  /** Tool approvals (policy.approvals): a call may wait for a person's yes, or be refused. */
  approvals?: Pick<ApprovalRegistry, 'check' | 'heldCall'>;
}

/** The reason a halted loop's call is aborted with: made once, since a DOMException per abort costs a stack trace. */
const HALTED = new DOMException('the agent was halted (suspended, restarted or terminated)', 'AbortError');

interface Slot {
  /** Bumped by halt(): a loop that sees a newer epoch has been cancelled and changes nothing more. */
  epoch: number;
  busy: boolean;
  again: boolean;
  controller: AbortController | null;
}

/**
 * Runs each active agent's loop on the Messages API: wake → (model call → tools)* → idle. One loop per agent at a
 * time; a wake while busy is remembered and handled when the current turn ends.
 */
export class AgentRunner implements AgentDriver {
  /** By record, so a purged agent's slot goes with it. */
  private readonly slots = new WeakMap<AgentRecord, Slot>();
  private busyLoops = 0;
  readonly caller: ModelCaller;

  constructor(private readonly deps: RunnerDeps) {
    this.caller = new ModelCaller(deps);
  }

  activate(agent: AgentRecord): void {
    this.kick(agent);
  }

  wake(agent: AgentRecord): void {
    // A `spawning` agent is waiting out a restart back-off: its inbox keeps until activate() starts it.
    if (agent.state === 'spawning') return;
    this.kick(agent);
  }

  halt(agent: AgentRecord): void {
    const slot = this.slots.get(agent);
    if (!slot) return;
    slot.epoch++;
    this.setBusy(slot, false);
    slot.again = false;
    slot.controller?.abort(HALTED);
    slot.controller = null;
  }

  /** Agents with a loop in progress (for shutdown and tests). */
  busyCount(): number {
    return this.busyLoops;
  }

  private setBusy(slot: Slot, busy: boolean): void {
    if (slot.busy === busy) return;
    slot.busy = busy;
    this.busyLoops += busy ? 1 : -1;
  }

  private kick(agent: AgentRecord): void {
    let slot = this.slots.get(agent);
    if (!slot) this.slots.set(agent, (slot = { epoch: 0, busy: false, again: false, controller: null }));
    if (slot.busy) {
      slot.again = true;
      return;
    }
    this.setBusy(slot, true);
    // Start on the next turn of the event loop, not inside the caller: an HTTP handler that woke the agent
    // answers with the state it set (e.g. `correcting`), and its writes commit first.
    const epoch = slot.epoch;
    setImmediate(() => void this.loop(agent, slot, epoch));
  }

  private async loop(agent: AgentRecord, slot: Slot, epoch: number): Promise<void> {
    try {
      do {
        slot.again = false;
        await this.work(agent, slot, () => slot.epoch !== epoch || !isActive(agent.state));
      } while (slot.again && slot.epoch === epoch && isActive(agent.state));
    } catch (error) {
      if (slot.epoch === epoch) this.deps.onFailure(agent, error);
    } finally {
      if (slot.epoch === epoch) {
        this.setBusy(slot, false);
        slot.controller = null;
      }
    }
  }

  /** One wake: model calls until the model ends its turn with nothing waiting, or the step cap. */
  private async work(agent: AgentRecord, slot: Slot, stale: () => boolean): Promise<void> {
    const { runtime } = this.deps;
    if (stale()) return;
    agent.depthRefusals = 0; // counted per wake (LIMITS.depthRefusalsPerWake)
    const tools = toolsetFor(agent.spec, this.deps.mcp);
    const heldId = this.deps.approvals?.heldCall(agent) ?? null;
    const held = heldId === null ? null : heldReply(agent.conversation.at(-1), heldId);
    if (held) {
      // The daemon stopped while a call waited for approval: the reply's tools go on from that call.
      slot.controller = new AbortController();
      const results = await this.runTools(agent, held.rest, tools.client, slot.controller.signal, stale);
      if (results === null || stale()) return;
      runtime.appendTurns(agent, turnJson({ role: 'user', content: [...held.before, ...results, ...this.takeInbox(agent)] }));
    } else if (!this.openUserTurn(agent)) return this.settleIdle(agent);
    for (let step = 0; step < this.deps.maxTurnSteps; step++) {
      if (agent.state === 'idle' || agent.state === 'correcting') runtime.move(agent, 'running');
      if (!this.deps.model.configured) return this.deps.onFailure(agent, new MissingApiKeyError());
      const controller = new AbortController();
      slot.controller = controller;
      let result: CallResult | null;
      try {
        const system = systemPrompt(agent, agent.parentPath ? runtime.tree.find(agent.parentPath) : undefined);
        // Subtree budgets stop an agent before a call, never in one (the head is counted only before a first call).
        if (this.deps.oversight.beforeModelCall(agent, this.caller.gauge.estimate(agent, system))) return;
        result = await this.caller.call(agent, { system, tools: tools.definitions }, controller.signal, stale);
      } catch (error) {
        if (stale() || isAbort(error)) return;
        this.deps.onFailure(agent, error);
        return;
      }
      if (result === null || stale()) return; // a late reply after suspend/terminate changes nothing
      const { reply } = result;
      const answered = this.recordReply(agent, result);
      if (this.deps.oversight.afterModelCall(agent)) return;
      if (!answered) {
        // An empty reply is not kept (the API refuses an empty assistant turn): the turn ends, and what waits is
        // added to the unanswered user turn for the next call.
        if (agent.inbox.length === 0) return this.settleIdle(agent);
        this.openUserTurn(agent);
        continue;
      }
      const results = await this.runTools(agent, reply.content, tools.client, controller.signal, stale);
      if (results === null || stale()) return;
      if (this.deps.afterTurn) await this.deps.afterTurn(agent, controller.signal);
      if (stale()) return;
      if (reply.stop_reason === 'pause_turn') continue; // a long server-tool turn: send it back as it is
      const waiting = this.takeInbox(agent);
      if (results.length === 0 && waiting.length === 0) return this.settleIdle(agent);
      runtime.appendTurns(agent, turnJson({ role: 'user', content: [...results, ...waiting] }));
    }
    runtime.emit(agent, 'step_limit', { steps: this.deps.maxTurnSteps, detail: 'AUTON_MAX_TURN_STEPS model calls in one wake; the agent rests until woken again' });
    this.settleIdle(agent);
  }

  /** Makes sure the conversation ends with a user turn to answer; false when there is nothing to do. */
  private openUserTurn(agent: AgentRecord): boolean {
    const lastJson = agent.conversation.at(-1);
    const last = lastJson === undefined ? undefined : parseTurn(lastJson);
    const waiting = this.takeInbox(agent);
    const { runtime } = this.deps;
    if (!last) {
      runtime.appendTurns(agent, turnJson({ role: 'user', content: [{ type: 'text', text: START_TEXT }, ...waiting] }));
    } else if (last.role === 'assistant') {
      // Written by an older version on an empty reply: the API refuses it, so it becomes a visible placeholder.
      if (Array.isArray(last.content) && last.content.length === 0) runtime.replaceLastTurn(agent, turnJson({ role: 'assistant', content: [{ type: 'text', text: EMPTY_REPLY_TEXT }] }));
      const unanswered = interruptedToolResults(last.content);
      if (waiting.length === 0 && unanswered.length === 0) return false;
      runtime.appendTurns(agent, turnJson({ role: 'user', content: [...unanswered, ...waiting] }));
    } else if (waiting.length > 0) {
      // The last turn is a user turn not yet answered (e.g. restored after a restart): add to it.
      const content = Array.isArray(last.content) ? last.content : [{ type: 'text', text: String(last.content) }];
      runtime.replaceLastTurn(agent, turnJson({ role: 'user', content: [...content, ...waiting] }));
    }
    return true;
  }

  private takeInbox(agent: AgentRecord): Anthropic.TextBlockParam[] {
    return inboxBlocks(this.deps.runtime.takeInbox(agent));
  }

  /** Keeps the reply as an assistant turn and reports the call; false when the reply had no content to keep. */
  private recordReply(agent: AgentRecord, result: CallResult): boolean {
    const { runtime } = this.deps;
    const { reply, tokens, usage, costUsd, usageProblems } = result;
    agent.turnCount += 1;
    const content = reply.content.filter((b) => !(b.type === 'text' && b.text === ''));
    if (content.length > 0) runtime.appendTurns(agent, turnJson({ role: 'assistant', content }));
    const text = content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('\n');
    runtime.emit(agent, 'model_call', {
      model: reply.model, stop_reason: reply.stop_reason, tokens, tokens_total: agent.health.tokens_total,
      ...usageJson(usage), cost_usd: costUsd, cost_usd_total: agent.health.cost_usd ?? null,
      context_tokens: agent.health.context_tokens ?? null, text: preview(text, EVENT_TEXT_CHARS),
      ...(content.length === 0 ? { empty_reply: true } : {}),
      ...(usageProblems.length > 0 ? { usage_problems: usageProblems } : {}),
    });
    runtime.save(agent);
    return content.length > 0;
  }

  /** Runs the reply's client tool calls in order; null when oversight suspended the agent on the way. */
  private async runTools(
    agent: AgentRecord, blocks: Anthropic.ContentBlock[], tools: Map<string, ClientTool>,
    signal: AbortSignal, stale: () => boolean,
  ): Promise<Anthropic.ToolResultBlockParam[] | null> {
    const { runtime, oversight } = this.deps;
    const results: Anthropic.ToolResultBlockParam[] = [];
    for (const block of blocks) {
      if (block.type !== 'tool_use') continue;
      const input = (block.input ?? {}) as Record<string, unknown>;
      runtime.emit(agent, 'tool_call', { tool: block.name, tool_use_id: block.id, input });
      if (oversight.afterToolCall(agent, block.name, input)) return null;
      const refusal = await this.deps.approvals?.check(agent, { id: block.id, name: block.name, input }, signal);
      if (stale()) return null;
      const tool = tools.get(block.name);
      let content: ToolOutput;
      let isError = false;
      try {
        if (refusal) throw new Error(refusal);
        if (!tool) throw new Error(`unknown tool ${block.name}`);
        content = await tool.run(input, { runtime, agent, signal, fetchPolicy: this.deps.fetchPolicy ?? PUBLIC_ONLY });
      } catch (error) {
        if (stale()) return null;
        content = toolErrorMessage(error);
        isError = true;
      }
      if (stale()) return null;
      runtime.emit(agent, 'tool_result', { tool: block.name, tool_use_id: block.id, is_error: isError, content: preview(toolOutputText(content), EVENT_TEXT_CHARS) });
      results.push({ type: 'tool_result', tool_use_id: block.id, content, ...(isError ? { is_error: true } : {}) });
    }
    return results;
  }

  private settleIdle(agent: AgentRecord): void {
    if (agent.state === 'running' || agent.state === 'spawning') this.deps.runtime.move(agent, 'idle');
  }
}

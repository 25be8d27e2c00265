import type Anthropic from '@anthropic-ai/sdk';
import { parseTurn, type AgentRecord, type InboxItem, type TurnJson } from '../domain/agent.js';

/** The system prompt: who the agent is, where it sits in the tree, and how it is steered. */
export function systemPrompt(agent: AgentRecord, parent: AgentRecord | undefined): string {
  const lines = [
    `You are an autonomous agent managed by Auton, running at path "${agent.path}".`,
    `Your goal: ${agent.spec.goal}`,
    // The parent's path, never its goal: a scope's top agent has a parent of another tenant (README "Security"),
    // and a child its parent spawned already has in its own goal what the parent wants from it.
    parent
      ? `You were spawned under "${parent.path}". Use report_to_parent to send it results.`
      : 'You are a root agent; an operator supervises you.',
    'You can spawn child agents for sub-tasks (spawn_child), list them, and message them.',
    'Text marked [operator guidance] comes from your human operator: follow it, it overrides earlier instructions.',
    'Text marked [message from …] comes from another agent or the operator.',
    'When you have done what you can for now, end your turn with a short summary; you will be woken by new messages, guidance or your schedule.',
  ];
  return lines.join('\n');
}

/** The first user turn of a fresh agent. */
export const START_TEXT = 'Begin working towards your goal.';

/** Renders waiting inbox items as user-turn text blocks (guidance first: it steers what follows). */
export function inboxBlocks(items: InboxItem[]): Anthropic.TextBlockParam[] {
  const ordered = [...items.filter((i) => i.kind === 'guidance'), ...items.filter((i) => i.kind === 'message')];
  return ordered.map((item) => ({
    type: 'text' as const,
    text: item.kind === 'guidance'
      ? `[operator guidance] ${item.text}`
      : `[message from ${item.from ?? 'operator'}${item.channel ? ` on ${item.channel}` : ''}] ${item.content}`,
  }));
}

/** How many turns are sent to the model; older turns stay stored but out of the prompt. */
export const PROMPT_WINDOW_TURNS = 120;

/**
 * The turns sent to the model: the most recent window, starting at a user turn that is not a bare tool result
 * (a tool_result without its tool_use would be rejected by the API).
 */
export function promptWindow(conversation: readonly TurnJson[]): TurnJson[] {
  let start = Math.max(0, conversation.length - PROMPT_WINDOW_TURNS);
  while (start > 0 && !isPlainUserTurn(conversation[start]!)) start--;
  // Only part of a long conversation is loaded after a restart: it may begin mid-exchange, so skip ahead.
  while (start < conversation.length - 1 && !isPlainUserTurn(conversation[start]!)) start++;
  return conversation.slice(start);
}

function isPlainUserTurn(json: TurnJson): boolean {
  const turn = parseTurn(json);
  if (turn.role !== 'user') return false;
  if (typeof turn.content === 'string') return true;
  return Array.isArray(turn.content) && !turn.content.some((b: { type?: string }) => b.type === 'tool_result');
}

import type Anthropic from '@anthropic-ai/sdk';
import type { AgentRecord, InboxItem } from '../domain/agent.js';

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
  if (agent.spec.instructions) lines.push('', 'Instructions from your operator:', agent.spec.instructions);
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

/** Stands in for an empty assistant turn stored by an older version. */
export const EMPTY_REPLY_TEXT = '(no reply)';

/** What an interrupted tool call reports: it may or may not have taken effect. */
export const INTERRUPTED_TOOL_TEXT = 'no result: the agent was halted (suspended or restarted) before this tool call completed; it may or may not have taken effect';

/**
 * Error results for the tool calls of an assistant turn the agent was halted at (oversight suspends between the
 * model's reply and its tools). The Messages API refuses a conversation whose tool_use is not answered at once.
 */
export function interruptedToolResults(content: unknown): Anthropic.ToolResultBlockParam[] {
  if (!Array.isArray(content)) return [];
  return (content as Array<{ type?: unknown; id?: unknown }>).flatMap((block) =>
    block.type === 'tool_use' && typeof block.id === 'string'
      ? [{ type: 'tool_result' as const, tool_use_id: block.id, content: INTERRUPTED_TOOL_TEXT, is_error: true }]
      : []);
}

import type Anthropic from '@anthropic-ai/sdk';
import { parseTurn, type TurnJson } from '../domain/agent.js';
import { interruptedToolResults } from '../runner/prompt.js';

/**
 * A reply whose tools stopped at a call held for approval when the daemon stopped: the calls before it ran but
 * their results were lost with the process (they answer as interrupted), the held call and those after it have
 * not run and go through the tools again. Null when the last turn is not that reply.
 */
export function heldReply(last: TurnJson | undefined, toolUseId: string): { before: Anthropic.ToolResultBlockParam[]; rest: Anthropic.ContentBlock[] } | null {
  if (last === undefined) return null;
  const turn = parseTurn(last);
  if (turn.role !== 'assistant' || !Array.isArray(turn.content)) return null;
  const blocks = turn.content as Anthropic.ContentBlock[];
  const at = blocks.findIndex((b) => b.type === 'tool_use' && b.id === toolUseId);
  if (at === -1) return null;
  return { before: interruptedToolResults(blocks.slice(0, at)), rest: blocks.slice(at) };
}

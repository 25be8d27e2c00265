import { parseTurn, turnJson, type TurnJson } from '../domain/agent.js';
import type { ContextTurns } from '../domain/context-turns.js';
import { CHARS_PER_TOKEN, estimateTurns } from './estimate.js';

/**
 * A compaction summary is a user turn whose first text block starts with this header: transcripts and the console
 * show such a turn as "summary of turns before it", and a later compaction summarises it with the rest.
 */
export const SUMMARY_HEADER = '[Summary of the earlier conversation, written when it was compacted]';
const SUMMARY_PREFIX = turnJson({ role: 'user', content: [{ type: 'text', text: SUMMARY_HEADER }] }).slice(0, -4);

export function summaryTurn(summary: string): TurnJson {
  return turnJson({ role: 'user', content: [{ type: 'text', text: `${SUMMARY_HEADER}\n${summary.trim()}` }] });
}

export function isSummaryTurn(turn: TurnJson): boolean {
  return turn.startsWith(SUMMARY_PREFIX);
}

/** The most tokens a summary may take (the compaction call's max_tokens). */
export const SUMMARY_MAX_TOKENS = 4_096;
/** Compact when the next prompt would pass this share of the window (less the reply's room). */
export const COMPACT_AT_SHARE = 0.8;
/** The recent turns kept verbatim after a compaction take at most this share of the window. */
export const KEEP_SHARE = 0.25;
/** Room kept for what an estimate may miss (message framing, tool definitions counted differently). */
export const SAFETY_TOKENS = 2_000;

/** Where the prompt's budget comes from: the window less the reply and a margin. */
export function promptBudget(windowTokens: number, maxReplyTokens: number): number {
  return Math.max(0, windowTokens - maxReplyTokens - SAFETY_TOKENS);
}

export function shouldCompact(estimatedPromptTokens: number, windowTokens: number, maxReplyTokens: number): boolean {
  return estimatedPromptTokens > COMPACT_AT_SHARE * promptBudget(windowTokens, maxReplyTokens);
}

export interface CompactionPlan {
  /** The first turn kept verbatim: always an assistant turn, so the summary (a user turn) precedes it and every
   *  tool_use kept is answered in the turn after it, which is kept too. */
  keepFrom: number;
  keptTokens: number;
}

/**
 * Which turns to keep: the longest recent run that fits `keepTokens`, started at an assistant turn. A tool_use and
 * its tool_result are adjacent turns (assistant, then user), and the cut always falls before an assistant turn, so
 * the two are never separated. Null when no assistant turn after the first can start the kept run, or even the
 * shortest run is larger than `maxKeptTokens` (then nothing compaction can do makes the prompt fit).
 */
export function planCompaction(conversation: ContextTurns, keepTokens: number, maxKeptTokens: number): CompactionPlan | null {
  let best: CompactionPlan | null = null;
  let kept = 0;
  for (let i = conversation.length - 1; i >= 1; i--) {
    kept += estimateTurns(conversation, i, i + 1);
    if (!conversation.isAssistant(i)) continue;
    if (best !== null && kept > keepTokens) break;
    best = { keepFrom: i, keptTokens: kept };
  }
  if (best === null || best.keptTokens > maxKeptTokens) return null;
  return best;
}

/** Characters of one block shown to the summariser; the whole transcript is cut to fit its window too. */
const BLOCK_CHARS = 24_000;

/**
 * The older turns as a plain-text transcript for the summariser: text as it is, tool calls and results labelled,
 * each block cut at BLOCK_CHARS, and the whole cut in the middle to `maxTokens` so the compaction call itself fits.
 */
export function transcript(turns: readonly TurnJson[], maxTokens: number): string {
  const parts: string[] = [];
  for (const json of turns) {
    const turn = parseTurn(json);
    const label = isSummaryTurn(json) ? 'EARLIER SUMMARY' : turn.role.toUpperCase();
    parts.push(`${label}: ${renderContent(turn.content)}`);
  }
  const text = parts.join('\n\n');
  const maxChars = Math.max(1_000, maxTokens * CHARS_PER_TOKEN);
  if (text.length <= maxChars) return text;
  const head = Math.floor(maxChars / 3);
  const tail = maxChars - head;
  return `${text.slice(0, head)}\n\n[… ${text.length - maxChars} characters left out …]\n\n${text.slice(-tail)}`;
}

function clip(text: string): string {
  return text.length <= BLOCK_CHARS ? text : `${text.slice(0, BLOCK_CHARS)} [… ${text.length - BLOCK_CHARS} characters cut]`;
}

function renderContent(content: unknown): string {
  if (typeof content === 'string') return clip(content);
  if (!Array.isArray(content)) return clip(JSON.stringify(content) ?? '');
  return content.map((block: Record<string, unknown>) => {
    if (block.type === 'text') return clip(String(block.text));
    if (block.type === 'tool_use') return `[called tool ${String(block.name)} with ${clip(JSON.stringify(block.input) ?? '')}]`;
    if (block.type === 'tool_result') {
      const body = typeof block.content === 'string' ? block.content : JSON.stringify(block.content) ?? '';
      return `[tool result${block.is_error ? ' (error)' : ''}: ${clip(body)}]`;
    }
    if (block.type === 'thinking') return '';
    return `[${String(block.type)}]`;
  }).filter((s) => s !== '').join('\n');
}

export const SUMMARISER_SYSTEM = 'You compress the working memory of an autonomous agent whose conversation has grown too long for its context window. '
  + 'Write the summary the agent will continue from, in its own voice ("I …"). Keep everything it needs: its goal and '
  + 'instructions from the operator, what it has done and found (facts, figures, names, URLs, file paths, decisions '
  + 'and why), what failed, open questions, and exactly what it was doing and meant to do next. Leave out pleasantries '
  + 'and raw data it can fetch again. Plain text, at most about 1,500 words.';

export function summariserPrompt(goal: string, older: string): string {
  return `The agent's goal:\n${goal}\n\nThe conversation so far (older turns; the most recent turns are kept verbatim and follow your summary):\n\n${older}\n\nWrite the summary now.`;
}

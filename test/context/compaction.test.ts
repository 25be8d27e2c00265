import { describe, expect, it } from 'vitest';
import { isSummaryTurn, planCompaction, shouldCompact, summaryTurn, transcript, SUMMARY_HEADER } from '../../src/context/compaction.js';
import { estimateTokens } from '../../src/context/estimate.js';
import { turnJson, type TurnJson } from '../../src/domain/agent.js';
import { ContextTurns } from '../../src/domain/context-turns.js';

const user = (text: string): TurnJson => turnJson({ role: 'user', content: [{ type: 'text', text }] });
const toolUses = (...ids: string[]): TurnJson => turnJson({ role: 'assistant', content: ids.map((id) => ({ type: 'tool_use', id, name: 'fetch_webpage', input: { url: id } })) });
const results = (size: number, ...ids: string[]): TurnJson => turnJson({ role: 'user', content: ids.map((id) => ({ type: 'tool_result', tool_use_id: id, content: 'p'.repeat(size) })) });

/** A tool loop: start, then (assistant tool_use(s), user tool_result(s)) × n. */
const context = (turns: TurnJson[]) => ContextTurns.of(turns, isSummaryTurn);

function toolLoop(n: number, size = 3_000, perTurn = 1): TurnJson[] {
  const turns = [user('Begin working towards your goal.')];
  for (let i = 0; i < n; i++) {
    const ids = Array.from({ length: perTurn }, (_, k) => `t${i}_${k}`);
    turns.push(toolUses(...ids), results(size, ...ids));
  }
  return turns;
}

describe('planCompaction', () => {
  it.each([
    [40, 1], [40, 3], [7, 2], [120, 1],
  ])('on a tool loop of %i exchanges with %i tool calls each, keeps a run that starts at an assistant turn and answers every kept tool_use', (n, perTurn) => {
    const conversation = toolLoop(n, 3_000, perTurn);
    for (const keep of [500, 5_000, 20_000]) {
      const plan = planCompaction(context(conversation), keep, 1_000_000)!;
      expect(plan).not.toBeNull();
      expect(conversation[plan.keepFrom]).toMatch(/^\{"role":"assistant"/);
      const kept = conversation.slice(plan.keepFrom).map((t) => JSON.parse(t) as { role: string; content: Array<Record<string, unknown>> });
      kept.forEach((turn, i) => {
        const asked = turn.content.filter((b) => b.type === 'tool_use').map((b) => b.id);
        if (asked.length && kept[i + 1]) expect(kept[i + 1]!.content.map((b) => b.tool_use_id)).toEqual(asked);
        const answered = turn.content.filter((b) => b.type === 'tool_result').map((b) => b.tool_use_id);
        if (answered.length) expect(i).toBeGreaterThan(0);
      });
    }
  });

  it('keeps at most the budget when it can, and at least the last exchange', () => {
    const conversation = toolLoop(50);
    const plan = planCompaction(context(conversation), 10_000, 1_000_000)!;
    expect(plan.keptTokens).toBeLessThanOrEqual(10_000);
    expect(plan.keepFrom).toBeGreaterThan(conversation.length - 20);
    const tiny = planCompaction(context(conversation), 1, 1_000_000)!;
    expect(tiny.keepFrom).toBe(conversation.length - 2);
  });

  it('says null when there is nothing before the last exchange to summarise, or the last exchange alone is too large', () => {
    expect(planCompaction(context([user('only')]), 1_000, 1_000_000)).toBeNull();
    const huge = toolLoop(3, 300_000);
    expect(planCompaction(context(huge), 1_000, 50_000)).toBeNull();
  });
});

describe('the summary turn', () => {
  it('is a user turn recognised by its header', () => {
    const turn = summaryTurn('I read pages 1-40 and found the tide tables.');
    expect(JSON.parse(turn)).toEqual({ role: 'user', content: [{ type: 'text', text: `${SUMMARY_HEADER}\nI read pages 1-40 and found the tide tables.` }] });
    expect(isSummaryTurn(turn)).toBe(true);
    expect(isSummaryTurn(user(`quoting ${SUMMARY_HEADER}`))).toBe(false);
  });

  it('is fed with a transcript cut to fit the summariser window', () => {
    const text = transcript(toolLoop(200, 20_000), 30_000);
    expect(estimateTokens(text)).toBeLessThanOrEqual(30_100);
    expect(text).toContain('characters left out');
    expect(transcript([summaryTurn('before'), ...toolLoop(1, 10)], 10_000)).toMatch(/^EARLIER SUMMARY:/);
  });
});

describe('shouldCompact', () => {
  it.each([
    [100_000, false], [150_000, false], [160_000, true], [199_000, true],
  ])('an estimated prompt of %i tokens in a 200,000 window with 4,096 for the reply → %s', (tokens, expected) => {
    expect(shouldCompact(tokens, 200_000, 4_096)).toBe(expected);
  });
});

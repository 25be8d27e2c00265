import { describe, expect, it } from 'vitest';
import { turnJson, type TurnJson } from '../../src/domain/agent.js';
import { ContextTurns } from '../../src/domain/context-turns.js';

const user = (text: string): TurnJson => turnJson({ role: 'user', content: [{ type: 'text', text }] });
const assistant = (text: string): TurnJson => turnJson({ role: 'assistant', content: [{ type: 'text', text }] });
const result = (text: string): TurnJson => turnJson({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: text }] });

describe('ContextTurns', () => {
  it('gives back every turn exactly, multi-byte text included, and its bytes as sent', () => {
    const turns = [user('Begin.'), assistant('naïve — 東京 🌊'), result('x'.repeat(10_000)), user('"quoted" \\ and \n newline')];
    const context = ContextTurns.of(turns);
    expect(context.toArray()).toEqual(turns);
    expect([...context]).toEqual(turns);
    expect(context.at(-1)).toBe(turns[3]);
    expect(context.at(4)).toBeUndefined();
    expect(context.slice(-2)).toEqual(turns.slice(-2));
    expect(context.view(1).toString('utf8')).toBe(turns[1]);
    expect(context.view(1).length).toBe(Buffer.byteLength(turns[1]!));
    expect(context.charsBetween(1, 3)).toBe(turns[1]!.length + turns[2]!.length);
  });

  it('knows each turn\'s kind: assistant, a user turn a request may start with, a summary', () => {
    const context = new ContextTurns();
    context.push(user('S'), true);
    context.push(assistant('a'));
    context.push(result('r'));
    context.push(user('u'));
    expect([0, 1, 2, 3].map((i) => [context.isSummary(i), context.isAssistant(i), context.isPlainUser(i)])).toEqual([
      [true, false, true], [false, true, false], [false, false, false], [false, false, true],
    ]);
  });

  it('replaces the last turn in place, keeping whether it is a summary', () => {
    const context = ContextTurns.of([user('a'), assistant('b')]);
    context.replaceLast(assistant('a much longer reply than before'));
    expect(context.toArray()).toEqual([user('a'), assistant('a much longer reply than before')]);
    context.replaceLast(assistant('c'));
    expect(context.toArray()).toEqual([user('a'), assistant('c')]);
  });

  it('keeps [summary, ...recent turns] in the same buffer, whether the summary is shorter or longer than what it replaces', () => {
    const turns = [user('start'), assistant('one'), result('two'), assistant('three'), result('four')];
    const context = ContextTurns.of(turns);
    context.keep(3, user('S'));
    expect(context.toArray()).toEqual([user('S'), assistant('three'), result('four')]);
    expect(context.isSummary(0)).toBe(true);
    expect(context.isAssistant(1)).toBe(true);
    context.keep(1, user('a summary far longer than the one turn it replaces, '.repeat(20)));
    expect(context.toArray()).toEqual([user('a summary far longer than the one turn it replaces, '.repeat(20)), assistant('three'), result('four')]);
    context.keep(3, user('only the summary'));
    expect(context.toArray()).toEqual([user('only the summary')]);
  });

  it('forgets what it learnt about a turn once the turn is replaced or moved', () => {
    const context = ContextTurns.of([user('a'), assistant('b')]);
    let computed = 0;
    const memo = (json: TurnJson) => (computed++, json.length);
    expect(context.memo(1, memo)).toBe(assistant('b').length);
    expect(context.memo(1, memo)).toBe(assistant('b').length);
    expect(computed).toBe(1);
    context.replaceLast(assistant('bb'));
    expect(context.memo(1, memo)).toBe(assistant('bb').length);
    expect(computed).toBe(2);
  });

  it('holds a long agent in a bounded buffer: 1,000 calls of 20 KB results compacted as they go never grow it past twice the window', () => {
    const context = ContextTurns.of([user('start')]);
    const page = 'p'.repeat(20_000);
    let largest = 0;
    for (let call = 0; call < 1_000; call++) {
      context.push(assistant(`fetch ${call}`));
      context.push(result(page));
      if (context.charsBetween() > 640_000) context.keep(context.length - 16, user(`summary up to ${call}`));
      largest = Math.max(largest, context.capacity);
    }
    expect(context.at(0)).toMatch(/summary up to/);
    expect(context.at(-1)).toBe(result(page));
    expect(largest).toBeLessThanOrEqual(2 * 700_000);
    expect(context.capacity).toBe(largest); // reused in place, not reallocated per compaction
  });
});

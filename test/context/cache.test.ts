import { describe, expect, it } from 'vitest';
import { CacheSupport, messagePieces, withBreakpoint } from '../../src/context/cache.js';
import { ContextGauge } from '../../src/context/gauge.js';
import { estimateTurns } from '../../src/context/estimate.js';
import { newAgentRecord, turnJson, type TurnJson } from '../../src/domain/agent.js';
import { ContextTurns } from '../../src/domain/context-turns.js';
import { requestBody } from '../../src/model/client.js';
import { policySchema, specSchema } from '../../src/domain/schemas.js';

/** The messages a request made of `messagePieces` sends, each as its JSON text. */
function messagesOf(turns: ContextTurns, start: number, previousEnd: number, ttl: '5m' | '1h' | null): TurnJson[] {
  const body = requestBody({ model: 'm', max_tokens: 1 }, messagePieces(turns, start, previousEnd, ttl));
  const messages = (JSON.parse(typeof body === 'string' ? body : '') as { messages: unknown[] }).messages;
  return messages.map((m) => JSON.stringify(m));
}

describe('cache breakpoints', () => {
  it('go on the last block of the previous call\'s last turn and of the last turn, nowhere else', () => {
    const turns = [
      turnJson({ role: 'user', content: 'start' }),
      turnJson({ role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'x', input: {} }] }),
      turnJson({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'a' }] }),
      turnJson({ role: 'assistant', content: [{ type: 'text', text: 'thinking aloud' }, { type: 'tool_use', id: 't2', name: 'x', input: {} }] }),
      turnJson({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't2', content: 'b' }, { type: 'text', text: '[message] hi' }] }),
    ];
    const out = messagesOf(ContextTurns.of(turns), 0, 2, '1h');
    expect(out.filter((t) => t.includes('cache_control'))).toHaveLength(2);
    expect(JSON.parse(out[2]!).content[0].cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });
    expect(JSON.parse(out[4]!).content[1].cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });
    // Exactly the JSON a parse-and-encode gives, made from the stored bytes without either.
    expect(out[2]).toBe(withBreakpoint(turns[2]!, '1h'));
    expect(out[4]).toBe(withBreakpoint(turns[4]!, '1h'));
    expect([out[0], out[1], out[3]]).toEqual([turns[0], turns[1], turns[3]]); // the rest is the stored text, unchanged
    expect(JSON.parse(withBreakpoint(turns[0]!, '5m'))).toEqual({ role: 'user', content: [{ type: 'text', text: 'start', cache_control: { type: 'ephemeral', ttl: '5m' } }] });
  });

  it('turn a string content into a block, skip thinking and empty text, start where the request starts, and go away with no TTL', () => {
    const thinking = turnJson({ role: 'assistant', content: [{ type: 'thinking', thinking: 'hm', signature: 's' }] });
    const unicode = turnJson({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'naïve — 東京 🌊' }] });
    const turns = ContextTurns.of([turnJson({ role: 'user', content: 'start' }), thinking, unicode]);
    expect(messagesOf(turns, 0, 0, '5m')[2]).toBe(withBreakpoint(unicode, '5m'));
    expect(messagesOf(turns, 0, 1, '5m')[1]).toBe(thinking);
    const first = ContextTurns.of([turnJson({ role: 'user', content: 'start' })]);
    expect(JSON.parse(messagesOf(first, 0, -1, '5m')[0]!).content).toEqual([{ type: 'text', text: 'start', cache_control: { type: 'ephemeral', ttl: '5m' } }]);
    // The previous call's end at the request's first turn gets none (the last turn's covers it).
    expect(messagesOf(ContextTurns.of([unicode, unicode, unicode]), 1, 1, '5m').map((t) => t.includes('cache_control'))).toEqual([false, true]);
    expect(messagesOf(turns, 0, 1, null)).toEqual(turns.toArray());
  });
});

describe('CacheSupport', () => {
  it('decides "no caching" after three long prompts with breakpoints and no cache activity, once', () => {
    const support = new CacheSupport();
    expect(support.observe(true, 500, 0, 0)).toBe(false); // too short to tell
    expect(support.observe(true, 20_000, 0, 0)).toBe(false);
    expect(support.observe(true, 20_000, 0, 0)).toBe(false);
    expect(support.observe(true, 20_000, 0, 0)).toBe(true);
    expect(support.enabled).toBe(false);
    expect(support.observe(true, 20_000, 0, 0)).toBe(false);
  });

  it('decides "caching" at the first cache write and never turns it off', () => {
    const support = new CacheSupport();
    support.observe(true, 20_000, 18_000, 0);
    for (let i = 0; i < 5; i++) support.observe(true, 20_000, 0, 0);
    expect(support.enabled).toBe(true);
  });
});

describe('ContextGauge', () => {
  it("sizes the next prompt from the API's count plus an estimate of the turns added since", () => {
    const agent = newAgentRecord({ id: 'a', parentPath: null, depth: 0, spec: specSchema.parse({ goal: 'g' }), policy: policySchema.parse({}), nowMs: 0 });
    agent.conversation.push(turnJson({ role: 'user', content: 'x'.repeat(3_000) }));
    const gauge = new ContextGauge();
    expect(gauge.estimate(agent, '{"model":"m"}')).toBeGreaterThan(1_000);
    gauge.measured(agent, 1, 777);
    expect(gauge.estimate(agent, 'ignored')).toBe(777);
    agent.conversation.push(turnJson({ role: 'assistant', content: [{ type: 'text', text: 'y'.repeat(300) }] }));
    expect(gauge.estimate(agent, 'ignored')).toBe(777 + estimateTurns(agent.conversation, 1));
    agent.conversationEpoch += 1; // replaced (compaction, restart): estimated afresh
    expect(gauge.estimate(agent, '')).toBe(estimateTurns(agent.conversation));
  });
});

import { describe, expect, it } from 'vitest';
import { CacheSupport, messagesWithBreakpoints, withBreakpoint } from '../../src/context/cache.js';
import { ContextGauge } from '../../src/context/gauge.js';
import { estimateTurns } from '../../src/context/estimate.js';
import { newAgentRecord, turnJson } from '../../src/domain/agent.js';
import { policySchema, specSchema } from '../../src/domain/schemas.js';

describe('cache breakpoints', () => {
  it('go on the last block of the previous call\'s last turn and of the last turn, nowhere else', () => {
    const turns = [
      turnJson({ role: 'user', content: 'start' }),
      turnJson({ role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'x', input: {} }] }),
      turnJson({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'a' }] }),
      turnJson({ role: 'assistant', content: [{ type: 'text', text: 'thinking aloud' }, { type: 'tool_use', id: 't2', name: 'x', input: {} }] }),
      turnJson({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't2', content: 'b' }, { type: 'text', text: '[message] hi' }] }),
    ];
    const out = messagesWithBreakpoints(turns, 2, '1h');
    expect(out.filter((t) => t.includes('cache_control'))).toHaveLength(2);
    expect(JSON.parse(out[2]!).content[0].cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });
    expect(JSON.parse(out[4]!).content[1].cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });
    expect(out.slice(0, 2)).toEqual(turns.slice(0, 2)); // the rest is the stored text, unchanged
    expect(JSON.parse(withBreakpoint(turns[0]!, '5m'))).toEqual({ role: 'user', content: [{ type: 'text', text: 'start', cache_control: { type: 'ephemeral', ttl: '5m' } }] });
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

import { describe, expect, it } from 'vitest';
import { LOOP_REPEATS, loopPeriod, MAX_LOOP_PERIOD, toolSignature, TOOL_HISTORY } from '../../src/oversight/loops.js';

/** Calls written as letters: 'aab' is a, a, b. */
const calls = (letters: string) => [...letters];

describe('loopPeriod', () => {
  it.each([
    ['', 0, 'no calls'],
    ['a', 0, 'one call'],
    ['aa', 0, 'the same call twice is not yet a loop'],
    ['aaa', 1, 'the same call three times in a row'],
    ['baaa', 1, 'three in a row at the end'],
    ['aaab', 0, 'a loop that already ended'],
    ['aaaa', 1, 'four in a row is still period 1'],
    ['ababa', 0, 'a cycle seen two and a half times'],
    ['ababab', 2, 'a cycle of two, three times'],
    ['cababab', 2, 'a cycle of two at the end'],
    ['abababa', 2, 'a cycle of two, out of phase'],
    ['abcabc', 0, 'a cycle of three, only twice'],
    ['abcabcabc', 3, 'a cycle of three, three times'],
    ['aabaabaab', 3, 'a cycle of three containing a repeat'],
    ['abcdabcdabcd', 4, 'a cycle of four, three times'],
    ['abcdeabcdeabcde', 0, 'a cycle longer than MAX_LOOP_PERIOD is not looked for'],
    ['abcdefghijkl', 0, 'all different'],
    ['abab' + 'cc', 0, 'two repeats of a different call'],
  ])('%j → %i (%s)', (letters, period) => {
    expect(loopPeriod(calls(letters))).toBe(period);
  });

  it('finds the shortest period when several fit', () => {
    expect(loopPeriod(calls('aaaaaaaaaaaa'))).toBe(1);
  });

  it('keeps enough history to see the longest cycle repeated', () => {
    expect(TOOL_HISTORY).toBeGreaterThanOrEqual(LOOP_REPEATS * MAX_LOOP_PERIOD);
  });
});

describe('toolSignature', () => {
  it('is the same for the same input whatever the key order, nested too', () => {
    expect(toolSignature('fetch', { url: 'u', opts: { a: 1, b: [1, { y: 2, x: 1 }] } }))
      .toBe(toolSignature('fetch', { opts: { b: [1, { x: 1, y: 2 }], a: 1 }, url: 'u' }));
  });

  it.each([
    [['fetch', { url: 'a' }], ['fetch', { url: 'b' }]],
    [['fetch', { url: 'a' }], ['search', { url: 'a' }]],
    [['fetch', [1, 2]], ['fetch', [2, 1]]],
    [['fetch', { n: 1 }], ['fetch', { n: '1' }]],
  ] as const)('tells %j from %j', ([nameA, inputA], [nameB, inputB]) => {
    expect(toolSignature(nameA, inputA)).not.toBe(toolSignature(nameB, inputB));
  });
});

import { describe, expect, it } from 'vitest';
import { agentPath, rewriteAgentUrl } from '../../src/http/agent-paths.js';

describe('rewriteAgentUrl', () => {
  it.each([
    ['/agents', '/agents'],
    ['/agents?depth=1', '/agents?depth=1'],
    ['/agents/', '/agents/'],
    ['/agents/a', '/agents/a'],
    ['/agents/a/', '/agents/a'],
    ['/agents/a/b', '/agents/a%2Fb'],
    ['/agents/a/b/', '/agents/a%2Fb'],
    ['/agents/a/b/c?depth=2', '/agents/a%2Fb%2Fc?depth=2'],
    ['/agents/a/suspend', '/agents/a/suspend'],
    ['/agents/a/b/suspend', '/agents/a%2Fb/suspend'],
    ['/agents/a/b/observe/', '/agents/a%2Fb/observe'],
    ['/agents/a%2Fb/log', '/agents/a%2Fb/log'],
    ['/agents/a/b/checkpoints?x=1', '/agents/a%2Fb/checkpoints?x=1'],
    ['/oversight/check', '/oversight/check'],
    ['/docs/json', '/docs/json'],
  ])('%s → %s', (url, expected) => {
    expect(rewriteAgentUrl(url)).toBe(expected);
  });
});

describe('agentPath', () => {
  it.each([['a/b', 'a/b'], ['/a//b/', 'a/b'], ['a', 'a']])('%j → %j', (param, expected) => {
    expect(agentPath(param)).toBe(expected);
  });
});

import { describe, expect, it } from 'vitest';
import { ANONYMOUS, check, checkFork, checkPurge, inScope, type Access, type Principal } from '../../src/http/auth/access.js';

const key = (scope: string | null, role: Principal['role'] = 'operator'): Principal => ({ name: 'k', scope, role });

describe('inScope: a key sees its scope and what is below it, compared as strings', () => {
  it.each([
    [null, 'anything/at/all', true],
    ['a', 'a', true],
    ['a', 'a/b/c', true],
    ['a', 'ab', false],
    ['a/b', 'a', false],
    ['a/b', 'a/bc', false],
    ['a', 'b/a', false],
  ])('scope %s, path %s → %s', (scope, path, expected) => {
    expect(inScope(key(scope), path)).toBe(expected);
  });
});

describe('check: what a route needs against who is asking', () => {
  it.each<[string, Principal | null, Access, string | null, number | null]>([
    ['public needs nothing', null, 'public', null, null],
    ['no key → 401', null, 'key', null, 401],
    ['no key on an agent → 401, not 404', null, 'agent:read', 'a', 401],
    ['any key reads the docs', key('a', 'read'), 'key', null, null],
    ['read inside the scope', key('a', 'read'), 'agent:read', 'a/b', null],
    ['read outside the scope → 404', key('a', 'read'), 'agent:read', 'b', 404],
    ['a read key changing inside → 403', key('a', 'read'), 'agent:operate', 'a', 403],
    ['a read key changing outside → 404', key('a', 'read'), 'agent:operate', 'b', 404],
    ['an operator changes inside', key('a'), 'agent:operate', 'a/b', null],
    ['a scoped key reading /metrics → 403 (10d)', key('a', 'admin'), 'tree:read', null, 403],
    ['an unscoped read key reads /metrics', key(null, 'read'), 'tree:read', null, null],
    ['a scoped admin spawning a root → 403', key('a', 'admin'), 'tree:operate', null, 403],
    ['an unscoped read key spawning a root → 403', key(null, 'read'), 'tree:operate', null, 403],
    ['an unscoped operator spawns a root', key(null), 'tree:operate', null, null],
    ['authentication off: everything', ANONYMOUS, 'agent:operate', 'x', null],
  ])('%s', (_what, principal, access, path, status) => {
    expect(check(principal, access, path)?.status ?? null).toBe(status);
  });

  it('hides an agent outside the scope with the runtime\'s own not-found message', () => {
    expect(check(key('a'), 'agent:read', 'b/c')).toEqual({ status: 404, message: 'agent b/c not found' });
  });

  it('refuses a fork of the scope itself (its sibling is outside), not of what is below it', () => {
    expect(checkFork(key('a/b'), 'a/b')?.status).toBe(403);
    expect(checkFork(key('a/b'), 'a/b/c')).toBeNull();
    expect(checkFork(key(null), 'a')).toBeNull();
  });

  it.each<[string, Principal, { path: string; state: string }, number | null]>([
    ['a scoped operator purges a dead agent in its scope', key('a'), { path: 'a/b', state: 'dead' }, null],
    ['a scoped operator purging a live agent → 403', key('a'), { path: 'a/b', state: 'idle' }, 403],
    ['a scoped admin purges a live agent below its scope', key('a', 'admin'), { path: 'a/b', state: 'running' }, null],
    ['a scoped key purging its scope\'s own agent → 403', key('a', 'admin'), { path: 'a', state: 'dead' }, 403],
    ['an unscoped operator purges a dead root', key(null), { path: 'a', state: 'dead' }, null],
  ])('checkPurge: %s', (_what, principal, agent, status) => {
    expect(checkPurge(principal, agent)?.status ?? null).toBe(status);
  });
});

import { describe, expect, it } from 'vitest';
import type { AgentPolicy } from '../../src/domain/schemas.js';
import {
  backoffMs, decide, decideAfterOversight, RESTART_BACKOFF_BASE_MS, RESTART_BACKOFF_MAX_MS, type Failure, type SupervisedAgent, type SupervisionAction,
} from '../../src/supervision/decide.js';

type Restart = AgentPolicy['restart'];
type Strategy = AgentPolicy['supervision'];

/**
 * A small tree as supervision sees it: `root` (whose supervision is the strategy under test) with children
 * `root/a` (the one that fails), `root/b` and `root/c`; `root` may itself sit under `top`.
 */
function tree(opts: {
  restart?: Restart; strategy?: Strategy; maxRestarts?: number; restartCount?: number;
  siblings?: Array<{ restartCount?: number; restart?: Restart; maxRestarts?: number }>;
  rootPolicy?: { restart?: Restart; maxRestarts?: number; restartCount?: number };
  topStrategy?: Strategy;
}) {
  const agents = new Map<string, SupervisedAgent>();
  const add = (path: string, parentPath: string | null, restart: Restart, supervision: Strategy, maxRestarts: number, restartCount: number) =>
    agents.set(path, { path, parentPath, restartCount, policy: { restart, supervision, max_restarts: maxRestarts } });
  const hasTop = opts.topStrategy !== undefined;
  if (hasTop) add('top', null, 'on_failure', opts.topStrategy!, 3, 0);
  add('root', hasTop ? 'top' : null, opts.rootPolicy?.restart ?? 'on_failure', opts.strategy ?? 'one_for_one',
    opts.rootPolicy?.maxRestarts ?? 3, opts.rootPolicy?.restartCount ?? 0);
  add('root/a', 'root', opts.restart ?? 'on_failure', 'one_for_one', opts.maxRestarts ?? 3, opts.restartCount ?? 0);
  (opts.siblings ?? [{}, {}]).forEach((s, i) =>
    add(`root/${'bc'[i]}`, 'root', s.restart ?? 'on_failure', 'one_for_one', s.maxRestarts ?? 3, s.restartCount ?? 0));
  const lookup = (path: string) => agents.get(path);
  const siblingsOf = (agent: SupervisedAgent) =>
    [...agents.values()].filter((s) => s.parentPath === agent.parentPath && s.path !== agent.path);
  return { lookup, siblingsOf };
}

const failure = (overrides: Partial<Failure> = {}): Failure => ({ path: 'root/a', transient: true, message: 'boom', ...overrides });

/** The actions reduced to what the table compares: kind, path and (for restarts) the back-off. */
function brief(actions: SupervisionAction[]): string[] {
  return actions.map((a) => (a.kind === 'restart' ? `restart ${a.path} after ${a.delayMs}` : `suspend ${a.path}`));
}

describe('decide(): restart policy × parent strategy', () => {
  it.each<[Restart, Strategy, string[]]>([
    ['never', 'one_for_one', ['suspend root/a']],
    ['never', 'one_for_all', ['suspend root/a']],
    ['never', 'escalate', ['suspend root/a', 'restart root after 1000']],
    ['on_failure', 'one_for_one', ['restart root/a after 1000']],
    ['on_failure', 'one_for_all', ['restart root/a after 1000', 'restart root/b after 1000', 'restart root/c after 1000']],
    ['on_failure', 'escalate', ['suspend root/a', 'restart root after 1000']],
    ['always', 'one_for_one', ['restart root/a after 1000']],
    ['always', 'one_for_all', ['restart root/a after 1000', 'restart root/b after 1000', 'restart root/c after 1000']],
    ['always', 'escalate', ['suspend root/a', 'restart root after 1000']],
  ])('restart %s under a %s parent → %j', (restart, strategy, expected) => {
    const { lookup, siblingsOf } = tree({ restart, strategy });
    expect(brief(decide(failure(), lookup, siblingsOf))).toEqual(expected);
  });

  it.each<[Restart, string[]]>([
    ['never', ['suspend root']],
    ['on_failure', ['restart root after 1000']],
    ['always', ['restart root after 1000']],
  ])('a root with restart %s is handled by its own policy alone → %j', (restart, expected) => {
    const { lookup, siblingsOf } = tree({ rootPolicy: { restart } });
    expect(brief(decide(failure({ path: 'root' }), lookup, siblingsOf))).toEqual(expected);
  });
});

describe('decide(): restarts are counted and bounded', () => {
  it.each([
    [0, 3, ['restart root/a after 1000']],
    [1, 3, ['restart root/a after 2000']],
    [2, 3, ['restart root/a after 4000']],
    [3, 3, ['suspend root/a']],
    [0, 0, ['suspend root/a']],
  ])('with restart_count %i of max_restarts %i → %j', (restartCount, maxRestarts, expected) => {
    const { lookup, siblingsOf } = tree({ restartCount, maxRestarts });
    expect(brief(decide(failure(), lookup, siblingsOf))).toEqual(expected);
  });

  it('says why it gave up: the restarts used, or a never policy', () => {
    const exhausted = tree({ restartCount: 3, maxRestarts: 3 });
    expect(decide(failure(), exhausted.lookup, exhausted.siblingsOf)).toEqual([
      { kind: 'suspend', path: 'root/a', message: 'boom (gave up after 3 of max_restarts 3 restarts)' },
    ]);
    const never = tree({ restart: 'never' });
    expect(decide(failure(), never.lookup, never.siblingsOf)).toEqual([
      { kind: 'suspend', path: 'root/a', message: 'boom (restart policy is never)' },
    ]);
  });

  it('names the failure as the cause of a restart, and the failed sibling as the cause of a one_for_all restart', () => {
    const { lookup, siblingsOf } = tree({ strategy: 'one_for_all', siblings: [{}] });
    expect(decide(failure(), lookup, siblingsOf)).toEqual([
      { kind: 'restart', path: 'root/a', delayMs: 1000, cause: 'failure: boom' },
      { kind: 'restart', path: 'root/b', delayMs: 1000, cause: 'one_for_all: sibling root/a failed' },
    ]);
  });

  it('one_for_all backs each sibling off by its own count and suspends a sibling out of restarts', () => {
    const { lookup, siblingsOf } = tree({
      strategy: 'one_for_all', restartCount: 1,
      siblings: [{ restartCount: 2 }, { restartCount: 3, maxRestarts: 3 }],
    });
    expect(brief(decide(failure(), lookup, siblingsOf))).toEqual([
      'restart root/a after 2000', 'restart root/b after 4000', 'suspend root/c',
    ]);
  });

  it('one_for_all leaves the siblings alone when the failed agent itself may not restart', () => {
    const { lookup, siblingsOf } = tree({ strategy: 'one_for_all', restart: 'never' });
    expect(brief(decide(failure(), lookup, siblingsOf))).toEqual(['suspend root/a']);
  });

  it('a one_for_all sibling with restart never is suspended, not restarted', () => {
    const { lookup, siblingsOf } = tree({ strategy: 'one_for_all', siblings: [{ restart: 'never' }] });
    expect(brief(decide(failure(), lookup, siblingsOf))).toEqual(['restart root/a after 1000', 'suspend root/b']);
  });
});

describe('decide(): what a restart cannot fix, and escalation', () => {
  it.each<Strategy>(['one_for_one', 'one_for_all'])('suspends on a non-transient failure under %s, restarting nobody', (strategy) => {
    const { lookup, siblingsOf } = tree({ strategy });
    expect(decide(failure({ transient: false, message: 'no key' }), lookup, siblingsOf)).toEqual([
      { kind: 'suspend', path: 'root/a', message: 'no key' },
    ]);
  });

  it('escalates to the parent, which fails under its own policy (restart never → suspended)', () => {
    const { lookup, siblingsOf } = tree({ strategy: 'escalate', rootPolicy: { restart: 'never' } });
    const actions = decide(failure(), lookup, siblingsOf);
    expect(brief(actions)).toEqual(['suspend root/a', 'suspend root']);
    expect(actions[0]).toMatchObject({ message: 'boom (escalated to root)' });
    expect(actions[1]).toMatchObject({ message: 'child root/a failed: boom (restart policy is never)' });
  });

  it("escalates with the parent's own back-off and restart budget", () => {
    const backedOff = tree({ strategy: 'escalate', rootPolicy: { restartCount: 2 } });
    expect(brief(decide(failure(), backedOff.lookup, backedOff.siblingsOf))).toEqual(['suspend root/a', 'restart root after 4000']);
    const exhausted = tree({ strategy: 'escalate', rootPolicy: { restartCount: 3, maxRestarts: 3 } });
    expect(brief(decide(failure(), exhausted.lookup, exhausted.siblingsOf))).toEqual(['suspend root/a', 'suspend root']);
  });

  it("escalates a non-transient failure to a parent that is then suspended rather than restarted", () => {
    const { lookup, siblingsOf } = tree({ strategy: 'escalate' });
    expect(brief(decide(failure({ transient: false }), lookup, siblingsOf))).toEqual(['suspend root/a', 'suspend root']);
  });

  it("escalation goes on up while each parent's strategy is escalate, and follows one_for_all above it", () => {
    const upTwice = tree({ strategy: 'escalate', topStrategy: 'escalate' });
    expect(brief(decide(failure(), upTwice.lookup, upTwice.siblingsOf))).toEqual(['suspend root/a', 'suspend root', 'restart top after 1000']);
    const thenAll = tree({ strategy: 'escalate', topStrategy: 'one_for_all' });
    expect(brief(decide(failure(), thenAll.lookup, thenAll.siblingsOf))).toEqual(['suspend root/a', 'restart root after 1000']);
  });

  it('decides nothing for an agent that is no longer in the tree', () => {
    const { lookup, siblingsOf } = tree({});
    expect(decide(failure({ path: 'root/ghost' }), lookup, siblingsOf)).toEqual([]);
  });
});

describe('back-off', () => {
  it.each([
    [0, RESTART_BACKOFF_BASE_MS, 1_000],
    [1, RESTART_BACKOFF_BASE_MS, 2_000],
    [2, RESTART_BACKOFF_BASE_MS, 4_000],
    [5, RESTART_BACKOFF_BASE_MS, 32_000],
    [6, RESTART_BACKOFF_BASE_MS, 60_000],
    [20, RESTART_BACKOFF_BASE_MS, 60_000],
    [0, 250, 250],
    [3, 250, 2_000],
    [8, 250, 60_000],
    [0, 0, 0],
    [9, 0, 0],
  ])('after %i restarts with a base of %i ms waits %i ms', (restartCount, baseMs, expected) => {
    expect(backoffMs(restartCount, baseMs)).toBe(expected);
  });

  it('is capped at 60 s and starts at 1 s by default', () => {
    expect(RESTART_BACKOFF_MAX_MS).toBe(60_000);
    expect(backoffMs(0)).toBe(1_000);
  });

  it('decide() uses the configured base (AUTON_RESTART_BACKOFF_MS)', () => {
    const { lookup, siblingsOf } = tree({ restartCount: 2 });
    expect(brief(decide(failure(), lookup, siblingsOf, 100))).toEqual(['restart root/a after 400']);
    expect(brief(decide(failure(), lookup, siblingsOf, 0))).toEqual(['restart root/a after 0']);
  });
});

describe('decideAfterOversight (restart always after oversight suspends)', () => {
  const agent = (restart: 'never' | 'on_failure' | 'always', restartCount = 0) => ({
    path: 'a', parentPath: null, restartCount, policy: { restart, max_restarts: 2, supervision: 'one_for_one' as const },
  });
  it.each([
    ['always', 'loop_detected', 0, true],
    ['always', 'drift_detected', 1, true],
    ['always', 'budget_exceeded', 0, false],
    ['always', 'manual', 0, false],
    ['always', 'loop_detected', 2, false],
    ['on_failure', 'loop_detected', 0, false],
    ['never', 'drift_detected', 0, false],
  ] as const)('restart %s, suspended %s after %i restarts → restart: %s', (restart, reason, count, expected) => {
    const action = decideAfterOversight(agent(restart, count), reason, 1000);
    expect(action !== null).toBe(expected);
    if (action) expect(action).toMatchObject({ kind: 'restart', path: 'a', delayMs: 1000 * 2 ** count });
  });
});

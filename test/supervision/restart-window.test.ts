import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { decide, restartsCounted, type SupervisedAgent } from '../../src/supervision/decide.js';
import { spawnAgent } from '../support/daemon.js';
import { daemonPerTest } from '../runner/runner-support.js';

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2026, 11, 3);

function agent(restartTimesMs: number[], window: number | null, maxRestarts = 3): SupervisedAgent {
  return {
    path: 'a', parentPath: null, restartCount: restartTimesMs.length, restartTimesMs,
    policy: { restart: 'on_failure', supervision: 'one_for_one', max_restarts: maxRestarts, restart_window_seconds: window },
  };
}

const decideFor = (a: SupervisedAgent) =>
  decide({ path: 'a', transient: true, message: 'boom' }, (p) => (p === 'a' ? a : undefined), () => [], 1_000, NOW);

describe('policy.restart_window_seconds (OTP intensity over a period)', () => {
  it.each([
    ['three failures spread over a month, a window of a day', [NOW - 30 * DAY_MS, NOW - 20 * DAY_MS, NOW - 10 * DAY_MS], 86_400, 'restart'],
    ['three failures in the last hour, a window of a day', [NOW - 3_000_000, NOW - 2_000_000, NOW - 1_000_000], 86_400, 'suspend'],
    ['three failures spread over a month, no window (lifetime count)', [NOW - 30 * DAY_MS, NOW - 20 * DAY_MS, NOW - 10 * DAY_MS], null, 'suspend'],
    ['two failures within the window and one before it', [NOW - 2 * DAY_MS, NOW - 60_000, NOW - 30_000], 86_400, 'restart'],
  ])('%s → %s', (_name, times, window, kind) => {
    expect(decideFor(agent(times, window))[0]!.kind).toBe(kind);
  });

  it('counts only restarts inside the window, and the back-off starts over once the window is quiet', () => {
    const a = agent([NOW - 10 * DAY_MS, NOW - 9 * DAY_MS], 3_600);
    expect(restartsCounted(a, NOW)).toBe(0);
    expect(decideFor(a)).toEqual([{ kind: 'restart', path: 'a', delayMs: 1_000, cause: 'failure: boom' }]);
    expect(decideFor(agent([NOW - 10 * DAY_MS, NOW - 9 * DAY_MS], null))[0]).toMatchObject({ delayMs: 4_000 });
  });

  it('names the window when it gives up', () => {
    const [action] = decideFor(agent([NOW - 3, NOW - 2, NOW - 1], 60));
    expect(action).toEqual({ kind: 'suspend', path: 'a', message: 'boom (gave up after 3 of max_restarts 3 restarts within restart_window_seconds 60)' });
  });
});

describe('restart_window_seconds in a daemon, with fake timers', () => {
  const start = daemonPerTest();
  afterEach(() => vi.useRealTimers());

  it('an operator restart refused at max_restarts is allowed again once the window has passed', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    const { http } = await start();
    await spawnAgent(http, null, 'a', { policy: { max_restarts: 2, restart_window_seconds: 3_600 } });
    for (let i = 0; i < 2; i++) expect((await http.post('/agents/a/restart', {})).status).toBe(200);
    const refused = await http.post<{ message: string }>('/agents/a/restart', {});
    expect(refused.status).toBe(422);
    expect(refused.body.message).toMatch(/restarted 2 of 2 times in the last 3600 s/);
    vi.setSystemTime(NOW + 3_601_000);
    expect((await http.post('/agents/a/restart', {})).status).toBe(200);
    expect((await http.get<AgentNodeJson>('/agents/a')).body.restart_count).toBe(3);
  });
});

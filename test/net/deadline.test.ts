import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withDeadline } from '../../src/net/deadline.js';

/** Work that ends only when its signal aborts, with the signal's reason. */
const untilAborted = (signal: AbortSignal) => new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));

describe('withDeadline', () => {
  afterEach(() => vi.useRealTimers());

  it('aborts the work after its time with a TimeoutError, and leaves no listener on the parent', async () => {
    vi.useFakeTimers();
    const parent = new AbortController().signal;
    const work = withDeadline(parent, 15_000, untilAborted);
    const failed = expect(work).rejects.toMatchObject({ name: 'TimeoutError', message: 'no answer within 15000 ms' });
    await vi.advanceTimersByTimeAsync(14_999);
    expect(getEventListeners(parent, 'abort')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await failed;
    expect(getEventListeners(parent, 'abort')).toHaveLength(0);
  });

  it("aborts the work with the parent's reason when the parent aborts, and refuses to start on an aborted parent", async () => {
    const parent = new AbortController();
    const work = withDeadline(parent.signal, 15_000, untilAborted);
    parent.abort(new Error('halted'));
    await expect(work).rejects.toThrow('halted');
    await expect(withDeadline(parent.signal, 15_000, async () => 'ran')).rejects.toThrow('halted');
  });

  it('returns what the work returns, clearing its timer and listener', async () => {
    vi.useFakeTimers();
    const parent = new AbortController().signal;
    expect(await withDeadline(parent, 15_000, async () => 'page')).toBe('page');
    expect(vi.getTimerCount()).toBe(0);
    expect(getEventListeners(parent, 'abort')).toHaveLength(0);
  });
});

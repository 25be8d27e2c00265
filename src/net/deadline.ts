/**
 * Runs `work` with a signal that aborts when `parent` does or after `ms`, and unhooks both when it settles.
 *
 * Not `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: on Node 20 the timeout's timer lives its whole `ms`
 * and both signals are tracked through WeakRefs, which V8's scavenges keep alive, so every call's request and
 * response objects were moved to the old generation and stayed as garbage until a full collection (a long agent's
 * fetch_webpage calls, BENCHMARKS.md figure 9b). Here nothing outlives the call.
 */
export async function withDeadline<T>(parent: AbortSignal, ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  parent.throwIfAborted();
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
    parent.removeEventListener('abort', onAbort);
  }
}

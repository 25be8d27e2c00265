import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  /** CPU time the server process spent per request (µs), when its pid was given: independent of the load
   * generator, which on a small machine can be the limit of req/s for the faster servers. */
  cpuUsPerRequest: number | null;
  /** Connection errors, timeouts and non-2xx answers: a run with any is not a valid figure. */
  failures: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  /** Builds each request (unique bodies, rotating paths). */
  setupRequest?: autocannon.RequestSpec['setupRequest'];
  /** The server's process, to measure its CPU time per request. */
  pid?: number;
}

/** autocannon, after a one-second warm-up run whose numbers are dropped. */
export async function cannon(options: LoadOptions): Promise<LoadResult> {
  const run = (duration: number) => autocannon({
    url: options.url,
    connections: options.connections,
    duration,
    timeout: 30,
    method: options.method ?? 'GET',
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.setupRequest ? { requests: [{ setupRequest: options.setupRequest }] } : {}),
  });
  const unpin = options.pid === undefined ? () => {} : pinApart(options.pid);
  let r: autocannon.Result;
  let cpuBefore: number | null;
  let cpuAfter: number | null;
  try {
    await run(1);
    cpuBefore = options.pid === undefined ? null : cpuSeconds(options.pid);
    r = await run(options.durationSeconds);
    cpuAfter = options.pid === undefined ? null : cpuSeconds(options.pid);
  } finally {
    unpin();
  }
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    total: r.requests.total,
    cpuUsPerRequest: cpuBefore === null || cpuAfter === null ? null : ((cpuAfter - cpuBefore) * 1e6) / r.requests.total,
    failures: r.errors + r.timeouts + r.non2xx,
  };
}

/**
 * While a load run lasts, the server (all its threads) runs on core 1 and this process, the load generator, on
 * core 0, so that neither takes the other's CPU and a neighbour on the VM moves both sides less. Linux with
 * `taskset` and 2+ cores; elsewhere nothing is pinned. Returns what puts both back on every core.
 */
export function pinApart(serverPid: number): () => void {
  const cores = availableParallelism();
  if (process.platform !== 'linux' || cores < 2 || !taskset(['-V'])) return () => {};
  const all = `0-${cores - 1}`;
  taskset(['-a', '-cp', '1', String(serverPid)]);
  taskset(['-a', '-cp', '0', String(process.pid)]);
  return () => {
    taskset(['-a', '-cp', all, String(serverPid)]);
    taskset(['-a', '-cp', all, String(process.pid)]);
  };
}

function taskset(args: string[]): boolean {
  return spawnSync('taskset', args, { stdio: 'ignore' }).status === 0;
}

/** A run with failed requests measured something else than the route: stop rather than print it. */
export function checkRuns(runs: Record<string, { failures: number; total: number }>): void {
  for (const [name, run] of Object.entries(runs)) {
    if (run.failures > 0) throw new Error(`${name}: ${run.failures} of ${run.total} requests failed`);
  }
}

/** User + system CPU seconds a process has used so far (Linux /proc), or null where that cannot be read. */
export function cpuSeconds(pid: number): number | null {
  try {
    // Fields after the command name (which may hold spaces, hence the last ')'): utime and stime are 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').at(-1)!.trim().split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}
/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface HttpAnswer {
  status: number;
  body: string;
  /** When the whole answer had arrived (performance.now()). */
  endedAt: number;
  ms: number;
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

/** One request on a keep-alive socket, timed with sub-millisecond precision. */
export function http(url: string, options: { method?: string; body?: unknown } = {}): Promise<HttpAnswer> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, {
      method: options.method ?? 'GET',
      agent: keepAlive,
      headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => {
        const endedAt = performance.now();
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), endedAt, ms: endedAt - started });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A request that must answer `status`; its parsed JSON body. */
export async function expectJson<T>(url: string, status: number, options: { method?: string; body?: unknown } = {}): Promise<T> {
  const answer = await http(url, options);
  if (answer.status !== status) throw new Error(`${options.method ?? 'GET'} ${url}: ${answer.status} ${answer.body.slice(0, 300)}`);
  return JSON.parse(answer.body) as T;
}

/** `n` sequential requests after `warmup` unmeasured ones; the latencies in ms. */
export async function sequential(n: number, warmup: number, once: () => Promise<HttpAnswer>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await once();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const answer = await once();
    if (answer.status >= 300) throw new Error(`status ${answer.status}: ${answer.body.slice(0, 200)}`);
    out.push(answer.ms);
  }
  return out;
}

/** The p-th percentile (0–100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

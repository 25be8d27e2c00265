import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { http } from './load.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Set BENCH_CPU_PROF=dir to write a V8 CPU profile of every daemon child into dir (see BENCHMARKS.md). */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
/** Set BENCH_NODE_FLAGS="--trace-gc …" to pass extra node/V8 flags to every compiled daemon child (diagnostics only). */
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
/** Set BENCH_DAEMON_OUT=file to append the stdout and stderr of every child (daemons and bench scripts) to file. */
const OUT_FILE = process.env.BENCH_DAEMON_OUT;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface DaemonProcess {
  url: string;
  pid: number;
  /** From spawn to the first 200 from /readyz. */
  readyMs: number;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  db: string;
  fakeUrl: string;
  env?: Record<string, string>;
  /**
   * `dist` (the default) runs the compiled daemon as `npm start` does: `node --enable-source-maps dist/main.js`,
   * after the same build-if-changed step as `npm start`'s prestart. `tsx` runs src/main.ts through the tsx CLI
   * (its process and a child, as `npm start` did before there was a build); `tsx-import` runs src/main.ts in one
   * process (`node --import tsx`). BENCH_CPU_PROF profiles `dist` and `tsx-import`.
   */
  launcher?: 'dist' | 'tsx' | 'tsx-import';
}

let built = false;
/**
 * What `npm start` runs before the daemon (its prestart): compile src/ to dist/ unless dist/ is up to date. Once
 * per bench process, before the first compiled daemon starts, so its time is never part of a figure.
 */
export function ensureBuilt(): void {
  if (built) return;
  const result = spawnSync(process.execPath, [join(ROOT, 'scripts/build-if-changed.mjs')], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) throw new Error(`the build failed (scripts/build-if-changed.mjs exit ${result.status ?? result.signal})`);
  built = true;
}

/** The real daemon (by default compiled, dist/main.js) as a child process, so the load generator's CPU never competes with it in one event loop. */
export async function startDaemonProcess(options: DaemonOptions): Promise<DaemonProcess> {
  const launcher = options.launcher ?? 'dist';
  if (launcher === 'dist') ensureBuilt();
  const port = await freePort();
  const env = {
    ...process.env,
    AUTON_HOST: '127.0.0.1', AUTON_PORT: String(port), AUTON_DB: options.db, LOG_LEVEL: 'warn',
    AUTON_MAX_AGENTS: '1000000', ANTHROPIC_API_KEY: 'fake', ANTHROPIC_BASE_URL: options.fakeUrl,
    AUTON_JUDGE_EVERY_TURNS: '0', AUTON_MODEL_MAX_RETRIES: '0', AUTON_OVERSIGHT_INTERVAL_MS: '3600000',
    // The per-key rate limit stays on (its cost is part of every request) but far above what a run sends, and
    // the 1,000 streams of the fan-out figure share one (anonymous) key.
    AUTON_RATE_LIMIT_PER_MINUTE: '100000000', AUTON_MAX_SSE_PER_KEY: '100000',
    ...options.env,
  };
  const profile = [...NODE_FLAGS, ...(CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : [])];
  const started = performance.now();
  const child = launcher === 'tsx'
    ? spawn(join(ROOT, 'node_modules/.bin/tsx'), ['src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, launcher === 'dist'
      ? ['--enable-source-maps', ...profile, 'dist/main.js'] // package.json "start"
      : [...profile, '--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collect(child);
  const url = `http://127.0.0.1:${port}`;
  const readyMs = await waitReady(url, child, started, output);
  return { url, pid: child.pid!, readyMs, stop: () => stopChild(child) };
}

async function waitReady(url: string, child: ChildProcess, started: number, output: () => string): Promise<number> {
  const deadline = started + 60_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the daemon exited (${child.exitCode}) before it was ready:\n${output()}`);
    const status = await http(`${url}/readyz`).then((a) => a.status, () => 0);
    if (status === 200) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 5));
  }
  await stopChild(child);
  throw new Error(`the daemon was not ready within 60 s:\n${output()}`);
}

/** A bench child script (TypeScript through tsx) that talks over IPC: `call(message)` resolves with its answer. */
export interface ScriptProcess<Ready> {
  ready: Ready;
  pid: number;
  call<T>(message: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

export async function startScript<Ready>(script: string, args: string[] = [], execArgv: string[] = []): Promise<ScriptProcess<Ready>> {
  const child = fork(join(ROOT, script), args, { cwd: ROOT, execArgv: [...execArgv, '--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const output = collect(child);
  let seq = 0;
  const pending = new Map<number, (value: unknown) => void>();
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}):\n${output()}`)));
    child.on('message', (raw) => {
      const message = raw as { type: string; seq?: number; value?: unknown };
      if (message.type === 'ready') resolve(message.value as Ready);
      else if (message.type === 'answer' && message.seq !== undefined) {
        pending.get(message.seq)?.(message.value);
        pending.delete(message.seq);
      }
    });
  });
  return {
    ready,
    pid: child.pid!,
    call: <T>(message: Record<string, unknown>) => new Promise<T>((resolve) => {
      const id = ++seq;
      pending.set(id, resolve as (value: unknown) => void);
      child.send({ ...message, seq: id });
    }),
    stop: () => stopChild(child),
  };
}

/** The child side of `startScript`: announces readiness and answers calls. */
export function serveIpc<Ready>(ready: Ready, handle: (message: Record<string, unknown>) => unknown): void {
  process.on('message', (raw) => {
    const message = raw as Record<string, unknown>;
    void Promise.resolve(handle(message)).then((value) => process.send?.({ type: 'answer', seq: message.seq, value }));
  });
  process.send?.({ type: 'ready', value: ready });
}

function collect(child: ChildProcess): () => string {
  let text = '';
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  if (OUT_FILE) {
    child.stdout?.on('data', (chunk: Buffer) => appendFileSync(OUT_FILE, chunk));
    child.stderr?.on('data', (chunk: Buffer) => appendFileSync(OUT_FILE, chunk));
  }
  return () => text;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import type { AgentNodeJson, PolicyInput } from '../../src/domain/schemas.js';
import { startFakeMessagesApi, type FakeMessagesApi } from './fake-messages-api.js';

export interface TestDaemon {
  url: string;
  daemon: Daemon;
  dbPath: string;
  /** The Messages API the daemon's agents talk to. Every call hangs until aborted unless a test scripts replies,
   * so an agent stays `running` (a model thinking) and protocol tests see no model-driven state changes. */
  fake: FakeMessagesApi;
  close(): Promise<void>;
}

/**
 * The real daemon on 127.0.0.1, a free port and a database in a fresh temporary directory, its agents pointed at
 * the fake Messages API. `env` overrides any variable.
 */
export async function startTestDaemon(
  env: Record<string, string> = {},
  opts: { clock?: () => number } = {},
): Promise<TestDaemon> {
  const dir = await mkdtemp(join(tmpdir(), 'auton-test-'));
  const dbPath = join(dir, 'auton.db');
  const fake = await startFakeMessagesApi();
  fake.setHandler(() => ({ kind: 'hang' }));
  let daemon: Daemon;
  try {
    const config = loadConfig({
      AUTON_HOST: '127.0.0.1', AUTON_PORT: '0', AUTON_DB: dbPath,
      ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: fake.url, AUTON_MODEL_MAX_RETRIES: '0', AUTON_JUDGE_EVERY_TURNS: '0',
      ...env,
    });
    daemon = await startDaemon(config, { logger: false, ...(opts.clock ? { clock: opts.clock } : {}) });
  } catch (error) {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: daemon.url,
    daemon,
    dbPath,
    fake,
    close: async () => {
      await daemon.close();
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Registers hooks that start a test daemon before each test and close it after; read `.d` and `.http` inside
 * tests. `shared` starts one daemon for the enclosing file or describe instead (starting one costs more than most
 * tests), and with `purgeAfterEach` every root is purged after each test, so each test starts from an empty tree.
 */
export function useTestDaemon(options: { shared?: boolean; purgeAfterEach?: boolean; env?: Record<string, string>; clock?: () => number } = {}) {
  const ctx = {} as { d: TestDaemon; http: Api };
  (options.shared ? beforeAll : beforeEach)(async () => {
    ctx.d = await startTestDaemon(options.env, options.clock ? { clock: options.clock } : {});
    ctx.http = api(ctx.d.url);
  });
  if (options.shared && options.purgeAfterEach) afterEach(() => purgeAll(ctx.http));
  (options.shared ? afterAll : afterEach)(() => ctx.d.close());
  return ctx;
}

/** Purges every root (and so every agent); fails the test if the daemon refuses. */
export async function purgeAll(client: Api): Promise<void> {
  const tree = await client.get<{ agents: AgentNodeJson[] }>('/agents?depth=0');
  for (const root of tree.body.agents) {
    const res = await client.delete(`/agents/${root.path}?purge=true`);
    if (res.status !== 200) throw new Error(`purging ${root.path}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  const after = await client.get<{ total: number }>('/agents');
  if (after.body.total !== 0) throw new Error(`${after.body.total} roots left after purging them all`);
}

/** A clock a test moves by hand (pass `clock.now` as startDaemon's clock). */
export function manualClock(startMs = Date.UTC(2025, 0, 1)) {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    advance: (ms: number) => void (nowMs += ms),
  };
}

export interface ApiResponse<T = unknown> {
  status: number;
  /** The parsed JSON body (typed by the caller, unchecked), or the raw text when it is not JSON. */
  body: T;
  headers: Headers;
}

type Body = unknown;

async function request<T>(base: string, key: string | undefined, method: string, path: string, body?: Body, raw?: string): Promise<ApiResponse<T>> {
  const init: RequestInit = { method };
  const headers: Record<string, string> = key === undefined ? {} : { authorization: `Bearer ${key}` };
  if (raw !== undefined) init.body = raw;
  else if (body !== undefined) init.body = JSON.stringify(body);
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  init.headers = headers;
  const res = await fetch(base + path, init);
  const text = await res.text();
  let parsed: unknown = text;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** Tiny JSON client: every call answers `{status, body, headers}` whatever the status. `key` is sent as a Bearer token. */
export function api(base: string, key?: string) {
  return {
    get: <T = unknown>(path: string) => request<T>(base, key, 'GET', path),
    post: <T = unknown>(path: string, body?: Body) => request<T>(base, key, 'POST', path, body),
    patch: <T = unknown>(path: string, body?: Body) => request<T>(base, key, 'PATCH', path, body),
    delete: <T = unknown>(path: string, body?: Body) => request<T>(base, key, 'DELETE', path, body),
    /** Sends `text` as is with content-type application/json (malformed bodies). */
    raw: <T = unknown>(method: string, path: string, text: string) => request<T>(base, key, method, path, undefined, text),
  };
}

export type Api = ReturnType<typeof api>;

/** Spawns `id` under `parent` (null for a root) with a minimal spec; fails the test unless it is a 201. */
export async function spawnAgent(
  client: Api, parent: string | null, id: string, extra: { spec?: Record<string, unknown>; policy?: PolicyInput } = {},
): Promise<AgentNodeJson> {
  const res = await client.post<AgentNodeJson>(parent === null ? '/agents' : `/agents/${parent}`, {
    id, spec: { goal: `goal of ${id}`, ...extra.spec }, ...(extra.policy ? { policy: extra.policy } : {}),
  });
  if (res.status !== 201) throw new Error(`spawning ${id} under ${parent}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The type of every error answer. */
export type { ErrorBody } from '../../src/http/errors.js';

/** Asserts an error answer: the status, a JSON `{statusCode, error, message}` body, and a message when given. */
export function expectError(res: { status: number; body: unknown; headers: Headers }, status: number, message?: RegExp | string): void {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = res.body as { statusCode: unknown; error: unknown; message: string };
  expect(body.statusCode).toBe(status);
  expect(typeof body.error).toBe('string');
  if (message !== undefined) expect(body.message).toMatch(message);
}

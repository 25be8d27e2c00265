import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { spawnAgent, type Api, type TestDaemon } from '../support/daemon.js';
import type { FakeReply, RecordedRequest } from '../support/fake-messages-api.js';
import { lastUserBlocks, nextState, openLog, requestPath, requestsOf } from '../runner/runner-support.js';

const ROOT = resolve(import.meta.dirname, '../..');
/** The published filesystem server, started from node_modules with node (never a download). */
export const FS_SERVER = join(ROOT, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
/** The stdio server the tests own (test/support/mcp-test-server.ts). */
export const testServer = (timeoutMs?: number) => ({
  command: process.execPath, args: ['--import', 'tsx', join(ROOT, 'test/support/mcp-test-server.ts')], env: {}, cwd: ROOT,
  ...(timeoutMs ? { timeout: timeoutMs } : {}),
});

/** Writes `{"mcpServers": servers}` to a fresh directory; returns its path and the clean-up. */
export async function mcpConfigFile(servers: Record<string, unknown>): Promise<{ path: string; dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'auton-mcp-'));
  const path = join(dir, 'mcp.json');
  await writeFile(path, JSON.stringify({ mcpServers: servers }));
  return { path, dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export type Step = FakeReply | (() => Promise<FakeReply>);

/** Scripts each agent's replies in order (a step may be a function, run when the request arrives); others hang. */
export function script(t: TestDaemon, scripts: Record<string, Step[]>): void {
  const queues = new Map(Object.entries(scripts).map(([path, steps]) => [path, [...steps]]));
  t.fake.setHandler(async (req) => {
    const step = queues.get(requestPath(req) ?? '')?.shift();
    if (step === undefined) return { kind: 'hang' };
    return typeof step === 'function' ? step() : step;
  });
}

/** Spawns a root agent with `tools`, plays `steps`, waits until it is idle; answers its model requests. */
export async function runAgent(t: TestDaemon, http: Api, id: string, tools: string[], steps: Step[]): Promise<RecordedRequest[]> {
  script(t, { [id]: steps });
  await spawnAgent(http, null, id, { spec: { tools } });
  const log = await openLog(t, id);
  try {
    await nextState(log, 'idle', 20_000);
  } finally {
    log.close();
  }
  const requests = requestsOf(t, id);
  expect(requests).toHaveLength(steps.length);
  return requests;
}

/** The tool_result block a request answers with (its last user turn's first block). */
export function resultOf(req: RecordedRequest): { content: unknown; is_error?: boolean } {
  const block = lastUserBlocks(req).find((b) => b.type === 'tool_result');
  expect(block).toBeDefined();
  return block as { content: unknown; is_error?: boolean };
}

/** A tool_result's text (string content, or its text blocks joined). */
export function textOf(result: { content: unknown }): string {
  if (typeof result.content === 'string') return result.content;
  return (result.content as Array<{ type: string; text?: string }>).flatMap((b) => (b.type === 'text' ? [b.text ?? ''] : [])).join('\n');
}

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { api, purgeAll, startTestDaemon, type Api, type ErrorBody, type TestDaemon } from '../support/daemon.js';
import { toolNames } from '../runner/runner-support.js';
import { FS_SERVER, mcpConfigFile, resultOf, runAgent, textOf } from './mcp-support.js';

interface ServerStatus { name: string; status: string; tools: string[]; restarts: number; last_error: string | null; pid: number | null }

let t: TestDaemon;
let http: Api;
let files: string;
let config: Awaited<ReturnType<typeof mcpConfigFile>>;

beforeAll(async () => {
  config = await mcpConfigFile({});
  files = join(config.dir, 'files');
  await mkdir(files);
  await writeFile(join(files, 'notes.txt'), 'the launch is on Tuesday');
  await writeFile(join(config.dir, 'mcp.json'), JSON.stringify({ mcpServers: { fs: { command: 'node', args: [FS_SERVER, '${FILES_DIR}'] } } }));
  process.env.FILES_DIR = files;
  t = await startTestDaemon({ AUTON_MCP_CONFIG: config.path, AUTON_MCP_RESTART_BACKOFF_MS: '1000' });
  http = api(t.url);
});
afterAll(async () => {
  await t.close();
  await config.remove();
  delete process.env.FILES_DIR;
});

const fsStatus = async (): Promise<ServerStatus> => {
  const res = await http.get<{ servers: ServerStatus[] }>('/mcp/servers');
  expect(res.status).toBe(200);
  return res.body.servers.find((s) => s.name === 'fs')!;
};

describe('an agent using the published filesystem MCP server', () => {
  it('is not started before an agent needs it', async () => {
    expect((await fsStatus()).status).toBe('stopped');
  });

  it('lists and reads files with "tools": ["mcp__fs"], seeing the server\'s own names, descriptions and schemas', async () => {
    const requests = await runAgent(t, http, 'reader', ['mcp__fs'], [
      { kind: 'tool_use', name: 'mcp__fs__list_directory', input: { path: files } },
      { kind: 'tool_use', name: 'mcp__fs__read_text_file', input: { path: join(files, 'notes.txt') } },
      { kind: 'text', text: 'done' },
    ]);
    const offered = requests[0]!.body.tools!.find((tool) => 'name' in tool && tool.name === 'mcp__fs__read_text_file') as { description: string; input_schema: { properties: Record<string, unknown> } };
    expect(offered.description).toMatch(/read/i);
    expect(offered.input_schema.properties).toHaveProperty('path');
    expect(toolNames(requests[0]!)).toContain('mcp__fs__list_directory');
    expect(toolNames(requests[0]!)).toContain('spawn_child');
    const listed = resultOf(requests[1]!);
    expect(listed.is_error).toBeUndefined();
    expect(textOf(listed)).toContain('notes.txt');
    expect(textOf(resultOf(requests[2]!))).toBe('the launch is on Tuesday');
    const log = await http.get<{ servers: ServerStatus[] }>('/mcp/servers');
    expect(log.body.servers[0]).toMatchObject({ name: 'fs', status: 'ready', restarts: 0 });
  });

  it('a server killed mid-run gives the agent an error result, and the next call works after the restart', async () => {
    const before = await fsStatus();
    expect(before.pid).toBeTypeOf('number');
    const requests = await runAgent(t, http, 'survivor', ['mcp__fs__read_text_file'], [
      async () => {
        process.kill(before.pid!, 'SIGKILL');
        await vi.waitFor(async () => expect((await fsStatus()).status).toBe('restarting'), { timeout: 5_000, interval: 10 });
        return { kind: 'tool_use', name: 'mcp__fs__read_text_file', input: { path: join(files, 'notes.txt') } };
      },
      async () => {
        await vi.waitFor(async () => expect((await fsStatus()).status).toBe('ready'), { timeout: 10_000, interval: 20 });
        return { kind: 'tool_use', name: 'mcp__fs__read_text_file', input: { path: join(files, 'notes.txt') } };
      },
      { kind: 'text', text: 'done' },
    ]);
    const failed = resultOf(requests[1]!);
    expect(failed.is_error).toBe(true);
    expect(textOf(failed)).toMatch(/MCP server fs is unavailable/);
    const recovered = resultOf(requests[2]!);
    expect(recovered.is_error).toBeUndefined();
    expect(textOf(recovered)).toBe('the launch is on Tuesday');
    const after = await fsStatus();
    expect(after.restarts).toBe(1);
    expect(after.pid).not.toBe(before.pid);
    expect(after.last_error).toMatch(/exited/);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/auton_mcp_restarts_total\{server="fs"\} 1/);
    expect(metrics).toMatch(/auton_mcp_server_state\{server="fs",state="ready"\} 1/);
    await purgeAll(http);
  });

  it('refuses an unknown server or tool at spawn with a 400 that lists the known ones', async () => {
    for (const tools of [['mcp__nope'], ['mcp__fs__teleport']]) {
      const res = await http.post<ErrorBody>('/agents', { id: 'x', spec: { goal: 'g', tools } });
      expect(res.status).toBe(400);
      expect(res.body.message).toContain(tools[0]);
      expect(res.body.message).toContain('mcp__fs__read_text_file');
      expect(res.body.message).toContain('mcp__fs,');
    }
    expect((await http.get('/agents/x')).status).toBe(404);
  });
});

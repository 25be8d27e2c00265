import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { api, startTestDaemon, type Api, type TestDaemon } from '../support/daemon.js';
import { startHttpTestServer, type HttpTestServer } from '../support/mcp-test-server.js';
import { toolNames } from '../runner/runner-support.js';
import { mcpConfigFile, resultOf, runAgent, testServer, textOf } from './mcp-support.js';

interface ServerStatus { name: string; status: string; tools: string[]; restarts: number; last_error: string | null }

let t: TestDaemon;
let http: Api;
let remote: HttpTestServer;
let config: Awaited<ReturnType<typeof mcpConfigFile>>;
let n = 0;

beforeAll(async () => {
  remote = await startHttpTestServer({ authorization: 'Bearer sekrit' });
  process.env.TEST_MCP_TOKEN = 'sekrit';
  config = await mcpConfigFile({
    t: testServer(1_500),
    remote: { type: 'http', url: remote.url, headers: { authorization: 'Bearer ${TEST_MCP_TOKEN}' } },
  });
  t = await startTestDaemon({ AUTON_MCP_CONFIG: config.path, AUTON_MCP_RESTART_BACKOFF_MS: '50' });
  http = api(t.url);
});
afterAll(async () => {
  await t.close();
  await remote.close();
  await config.remove();
});

const status = async (name: string): Promise<ServerStatus> =>
  (await http.get<{ servers: ServerStatus[] }>('/mcp/servers')).body.servers.find((s) => s.name === name)!;

/** One agent calls `tool` of server `server` once, then ends its turn; answers the tool_result block. */
async function callOnce(server: string, tool: string, input: Record<string, unknown> = {}) {
  const requests = await runAgent(t, http, `a${++n}`, [`mcp__${server}`], [{ kind: 'tool_use', name: `mcp__${server}__${tool}`, input }, { kind: 'text', text: 'ok' }]);
  return resultOf(requests[1]!);
}

describe('MCP tools that misbehave give the agent an error result, never a stuck agent', () => {
  it('a tool error is an is_error result carrying the server\'s text', async () => {
    const result = await callOnce('t', 'fail');
    expect(result).toMatchObject({ is_error: true, content: 'the tool failed on purpose' });
  });

  it('image blocks reach the model as image blocks', async () => {
    const result = await callOnce('t', 'image');
    expect(result.is_error).toBeUndefined();
    expect(result.content).toEqual([
      { type: 'text', text: 'a pixel' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: expect.any(String) } },
    ]);
  });

  it('a hung call times out after the server\'s timeout', async () => {
    const result = await callOnce('t', 'hang');
    expect(result.is_error).toBe(true);
    expect(textOf(result)).toMatch(/did not answer hang within 1500 ms/);
    expect((await callOnce('t', 'echo', { text: 'still here' })).content).toBe('echo: still here');
  });

  it('garbage on the wire is an error result', async () => {
    const result = await callOnce('t', 'garbage');
    expect(result.is_error).toBe(true);
  });

  it('a server that exits during a call: error result, restart with back-off, the next call works', async () => {
    const restarts = (await status('t')).restarts;
    const result = await callOnce('t', 'crash');
    expect(result.is_error).toBe(true);
    expect(textOf(result)).toMatch(/exited during the call/);
    // Once the back-off is over the restart begins; a call made while the server starts waits for it.
    await vi.waitFor(async () => expect((await status('t')).restarts).toBe(restarts + 1), { timeout: 10_000, interval: 20 });
    expect((await callOnce('t', 'echo', { text: 'back' })).content).toBe('echo: back');
    expect((await status('t')).status).toBe('ready');
  });

  it('a tool added at run time (tools/list_changed) is offered to agents', async () => {
    expect((await status('t')).tools).not.toContain('added');
    await callOnce('t', 'add_tool');
    await vi.waitFor(async () => expect((await status('t')).tools).toContain('added'), { timeout: 5_000, interval: 10 });
    const requests = await runAgent(t, http, 'late', ['mcp__t__added'], [{ kind: 'tool_use', name: 'mcp__t__added', input: {} }, { kind: 'text', text: 'ok' }]);
    expect(toolNames(requests[0]!)).toContain('mcp__t__added');
    expect(resultOf(requests[1]!).content).toBe('added works');
  });
});

describe('a streamable-HTTP MCP server', () => {
  it('is called with the configured headers (${VAR} expanded)', async () => {
    expect((await callOnce('remote', 'echo', { text: 'over http' })).content).toBe('echo: over http');
  });

  it('a lost session (404) fails that call, then a new session is initialised and the next call works', async () => {
    await callOnce('remote', 'echo', { text: 'warm' });
    const restarts = (await status('remote')).restarts;
    remote.dropSessions();
    const lost = await callOnce('remote', 'echo', { text: 'lost' });
    expect(lost.is_error).toBe(true);
    expect(textOf(lost)).toMatch(/lost its session/);
    await vi.waitFor(async () => expect(await status('remote')).toMatchObject({ status: 'ready', restarts: restarts + 1 }), { timeout: 5_000, interval: 10 });
    expect((await callOnce('remote', 'echo', { text: 'again' })).content).toBe('echo: again');
  });
});

describe('MCP tools and oversight', () => {
  it('loop detection suspends an agent repeating an MCP call, unless policy.repeatable_tools names it', async () => {
    const repeat = { kind: 'tool_use' as const, name: 'mcp__t__echo', input: { text: 'same' } };
    const { script } = await import('./mcp-support.js');
    script(t, { looper: Array(10).fill(repeat), poller: [...Array(4).fill(repeat), { kind: 'text', text: 'ok' }] });
    await http.post('/agents', { id: 'looper', spec: { goal: 'g', tools: ['mcp__t'] } });
    await vi.waitFor(async () => expect((await http.get<{ state: string; suspend_reason?: string }>('/agents/looper')).body)
      .toMatchObject({ state: 'suspended', suspend_reason: 'loop_detected' }), { timeout: 10_000, interval: 20 });
    await http.post('/agents', { id: 'poller', spec: { goal: 'g', tools: ['mcp__t'] }, policy: { repeatable_tools: ['mcp__t__echo'] } });
    await vi.waitFor(async () => expect((await http.get<{ state: string }>('/agents/poller')).body.state).toBe('idle'), { timeout: 10_000, interval: 20 });
  });
});

describe('/mcp with authentication off', () => {
  it('the plain `claude mcp add --transport http auton <url>/mcp` setup connects, and spawns agents using MCP tools', async () => {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    const client = new Client({ name: 'claude-code-like', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`)));
    try {
      const ok = await client.callTool({ name: 'spawn_agent', arguments: { id: 'via-mcp', spec: { goal: 'g', tools: ['mcp__remote__echo'] } } });
      expect(ok.isError).toBeFalsy();
      const bad = await client.callTool({ name: 'spawn_agent', arguments: { spec: { goal: 'g', tools: ['mcp__remote__nope'] } } });
      expect(bad.isError).toBe(true);
      const text = (bad.content as Array<{ text: string }>)[0]!.text;
      expect(text).toContain('unknown tool mcp__remote__nope');
      expect(text).toContain('mcp__remote__echo');
    } finally {
      await client.close();
    }
  });
});

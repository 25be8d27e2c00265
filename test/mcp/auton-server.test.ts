import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { api, purgeAll, spawnAgent, startTestDaemon, type Api, type ErrorBody, type TestDaemon } from '../support/daemon.js';

const ADMIN = 'admin-secret-0123456789';
const SCOPED = 'scoped-secret-0123456789';
const READER = 'reader-secret-0123456789';

let t: TestDaemon;
let http: Api;
const clients: Client[] = [];

beforeAll(async () => {
  t = await startTestDaemon({ AUTON_API_KEYS: `root=${ADMIN}:admin,team:team=${SCOPED},watch:team=${READER}:read` });
  http = api(t.url, ADMIN);
});
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await purgeAll(http);
});
afterAll(() => t.close());

/** What `claude mcp add --transport http auton <url> --header "Authorization: Bearer <key>"` sets up. */
async function connect(key?: string): Promise<Client> {
  const client = new Client({ name: 'claude-code-like', version: '1.0.0' });
  const headers: Record<string, string> = key ? { Authorization: `Bearer ${key}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), { requestInit: { headers } }));
  clients.push(client);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<{ json: unknown; text: string; isError: boolean }> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = result.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch { /* an error message */ }
  return { json, text, isError: result.isError === true };
}

describe('Auton as an MCP server at /mcp (the SDK client, as Claude Code connects)', () => {
  it('lists the protocol as tools, with input schemas from the HTTP routes\' zod schemas', async () => {
    const client = await connect(ADMIN);
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'checkpoint_agent', 'decide_approval', 'fork_agent', 'get_agent', 'guide_agent', 'list_agents', 'list_approvals', 'message_agent',
      'read_log', 'restart_agent', 'resume_agent', 'run_oversight', 'spawn_agent', 'suspend_agent', 'terminate_agent',
    ]);
    const spawn = tools.find((tool) => tool.name === 'spawn_agent')!;
    expect(spawn.inputSchema.required).toEqual(['spec']);
    expect(JSON.stringify(spawn.inputSchema)).toContain('repeatable_tools');
  });

  it('answers with the same JSON as the HTTP routes, and errors carry the HTTP error\'s message', async () => {
    const client = await connect(ADMIN);
    const spawned = await call(client, 'spawn_agent', { id: 'lead', spec: { goal: 'plan the launch' } });
    expect(spawned.isError).toBe(false);
    expect(spawned.json).toMatchObject({ id: 'lead', path: 'lead', spec: { goal: 'plan the launch' } });
    await call(client, 'spawn_agent', { parent: 'lead', id: 'helper', spec: { goal: 'help' } });
    const viaMcp = (await call(client, 'get_agent', { path: 'lead', depth: 1 })).json as AgentNodeJson;
    const viaHttp = (await http.get<AgentNodeJson>('/agents/lead?depth=1')).body;
    expect({ ...viaMcp, uptime: 0, children: viaMcp.children.map((c) => ({ ...c, uptime: 0 })) })
      .toEqual({ ...viaHttp, uptime: 0, children: viaHttp.children.map((c) => ({ ...c, uptime: 0 })) });
    expect(((await call(client, 'list_agents', { depth: 0 })).json as { total: number }).total).toBe(1);

    expect((await call(client, 'suspend_agent', { path: 'lead/helper', detail: 'wait' })).json).toMatchObject({ state: 'suspended', suspend_reason: 'manual' });
    const twice = await call(client, 'suspend_agent', { path: 'lead/helper' });
    const httpTwice = await http.post<ErrorBody>('/agents/lead/helper/suspend', {});
    expect(twice.isError).toBe(true);
    expect(twice.text).toBe(httpTwice.body.message);
    expect((await call(client, 'resume_agent', { path: 'lead/helper', guidance: 'go on' })).json).toMatchObject({ path: 'lead/helper' });
    expect((await call(client, 'message_agent', { path: 'lead', content: 'hello' })).json).toEqual({ status: 'delivered', path: 'lead' });
    expect((await call(client, 'guide_agent', { path: 'lead', guidance: 'focus' })).isError).toBe(false);
    expect((await call(client, 'checkpoint_agent', { path: 'lead', label: 'before' })).json).toMatchObject({ path: 'lead', label: 'before' });
    expect((await call(client, 'fork_agent', { path: 'lead', id: 'lead2' })).json).toMatchObject({ path: 'lead2', forked_from: { path: 'lead' } });
    expect((await call(client, 'restart_agent', { path: 'lead2' })).json).toMatchObject({ path: 'lead2' });
    const log = (await call(client, 'read_log', { path: 'lead' })).json as { events: Array<{ type: string }> };
    expect(log.events.map((e) => e.type)).toContain('spawned');
    expect((await call(client, 'run_oversight')).json).toHaveProperty('events');
    expect((await call(client, 'terminate_agent', { path: 'lead2', purge: true })).isError).toBe(false);
    expect((await http.get('/agents/lead2')).status).toBe(404);

    const missing = await call(client, 'get_agent', { path: 'ghost' });
    expect(missing).toMatchObject({ isError: true, text: 'agent ghost not found' });
    const invalid = await call(client, 'spawn_agent', { spec: { goal: '' } });
    expect(invalid.isError).toBe(true);
    expect(invalid.text).toMatch(/spec\.goal/);
  });

  it('agents are resources; a subscribed client is told when one changes state', async () => {
    await spawnAgent(http, null, 'watched');
    const client = await connect(ADMIN);
    expect((await client.listResources()).resources.map((r) => r.uri)).toContain('auton://agents/watched');
    const read = await client.readResource({ uri: 'auton://agents/watched' });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ path: 'watched' });
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    await client.subscribeResource({ uri: 'auton://agents/watched' });
    await http.post('/agents/watched/suspend', {});
    await vi.waitFor(() => expect(updated).toContain('auton://agents/watched'), { timeout: 5_000, interval: 10 });
  });

  it('without a key (keys configured) /mcp is a 401, like every route', async () => {
    await expect(connect()).rejects.toThrow(/401/);
    const res = await fetch(`${t.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
    expect(res.status).toBe(401);
  });
});

describe('a scoped key over /mcp sees and touches only its subtree', () => {
  it('what is outside does not exist, with the same message as the 404 over HTTP', async () => {
    await spawnAgent(http, null, 'team');
    await spawnAgent(http, 'team', 'worker');
    await spawnAgent(http, null, 'secret');
    const client = await connect(SCOPED);
    const tree = (await call(client, 'list_agents')).json as { agents: AgentNodeJson[]; total: number };
    expect(tree.agents.map((a) => a.path)).toEqual(['team']);
    const httpMissing = await api(t.url, SCOPED).get<ErrorBody>('/agents/secret');
    for (const [tool, args] of [
      ['get_agent', { path: 'secret' }], ['suspend_agent', { path: 'secret' }], ['terminate_agent', { path: 'secret' }],
      ['message_agent', { path: 'secret', content: 'hi' }], ['read_log', { path: 'secret' }], ['spawn_agent', { parent: 'secret', spec: { goal: 'g' } }],
    ] as const) {
      const res = await call(client, tool, args);
      expect(res, tool).toMatchObject({ isError: true, text: httpMissing.body.message });
    }
    expect((await call(client, 'spawn_agent', { spec: { goal: 'a root' } })).text).toMatch(/scoped to team/);
    expect((await call(client, 'run_oversight')).isError).toBe(true);
    expect((await client.listResources()).resources.map((r) => r.uri).sort()).toEqual(['auton://agents/team', 'auton://agents/team/worker']);
    await expect(client.readResource({ uri: 'auton://agents/secret' })).rejects.toThrow(/agent secret not found/);
    await expect(client.subscribeResource({ uri: 'auton://agents/secret' })).rejects.toThrow(/agent secret not found/);
    expect((await http.get<AgentNodeJson>('/agents/secret')).body.state).not.toBe('suspended');
    // Inside the scope it works.
    expect((await call(client, 'suspend_agent', { path: 'team/worker' })).json).toMatchObject({ state: 'suspended' });
  });

  it('a read-only key may read but not change', async () => {
    await spawnAgent(http, null, 'team');
    const client = await connect(READER);
    expect((await call(client, 'get_agent', { path: 'team' })).isError).toBe(false);
    expect((await call(client, 'suspend_agent', { path: 'team' })).text).toMatch(/read-only/);
  });

  it('a session belongs to the key that opened it', async () => {
    const client = await connect(SCOPED);
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId!;
    const res = await fetch(`${t.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${READER}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
  });
});

describe('approvals over /mcp', () => {
  it('lists a held call and decides it; outside the scope it is a 404 as over HTTP', async () => {
    t.fake.setHandler(() => ({ kind: 'tool_use', name: 'list_children', input: {}, id: 'toolu_mcp_approval' }));
    try {
      await spawnAgent(http, null, 'team', { policy: { approvals: [{ tool: 'list_children', decision: 'ask' }] } });
      const admin = await connect(ADMIN);
      const listed = await vi.waitFor(async () => {
        const res = await call(admin, 'list_approvals', { path: 'team' });
        const approvals = (res.json as { approvals: Array<{ id: string; tool: string }> }).approvals;
        expect(approvals).toHaveLength(1);
        return approvals[0]!;
      });
      expect(listed.tool).toBe('list_children');
      const reader = await connect(READER);
      expect((await call(reader, 'decide_approval', { path: 'team', id: listed.id, decision: 'allow' })).isError).toBe(true);
      const decided = await call(admin, 'decide_approval', { path: 'team', id: listed.id, decision: 'deny', note: 'no' });
      expect(decided.json).toMatchObject({ id: listed.id, state: 'denied', decided_by: 'root', note: 'no' });
      const again = await call(admin, 'decide_approval', { path: 'team', id: listed.id, decision: 'allow' });
      expect(again).toMatchObject({ isError: true });
      expect(again.text).toMatch(/already denied/);
    } finally {
      t.fake.setHandler(() => ({ kind: 'hang' }));
    }
  });
});

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AUTON_TOOLS } from '../../src/mcp/server/auton-tools.js';
import { OWNER_CALLS } from '../../src/mcp/server/owner-calls.js';
import { api } from '../support/daemon.js';
import { startDaemonProcess, type DaemonProcess } from '../support/daemon-process.js';
import { withBrokenOwner } from '../support/broken-owner.js';
import { startFakeMessagesApi, type FakeMessagesApi, callerOf } from '../support/fake-messages-api.js';
import { describeWithPostgres } from '../support/postgres.js';

/**
 * Auton's MCP server on a cluster (docs/scale-out.md): an MCP client connected to one daemon sees and steers the
 * agents the other daemon owns, with keys enforced (every daemon requires one, so the owner answering at all
 * shows the caller's key went along).
 */
const OPS_KEY = 'ops-key-0123456789abcdef';
const SCOPED_KEY = 'lab-key-0123456789abcdef';
const started: DaemonProcess[] = [];
let fake: FakeMessagesApi;

beforeAll(async () => {
  fake = await startFakeMessagesApi();
  fake.setHandler((req) => ({ kind: 'text', text: `noted (${caller(req)})` }));
});

afterAll(async () => {
  for (const { child } of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await fake?.close();
});

const caller = callerOf;
const requestsOf = (path: string) => fake.requests.filter((r) => caller(r) === path);

it('every tool about one agent has its HTTP route to run on the owner (one added without it would act here alone)', () => {
  const aboutAnAgent = AUTON_TOOLS.filter((t) => ['path', 'parent'].some((f) => f in (t.input as unknown as { shape: object }).shape));
  expect(aboutAnAgent.length).toBeGreaterThanOrEqual(13);
  expect(aboutAnAgent.filter((t) => !OWNER_CALLS[t.name]).map((t) => t.name)).toEqual([]);
});

describeWithPostgres('the MCP server on several daemons', (pg) => {
  const urls = new Map<string, string>();
  let dbUrl = '';
  const clients: Client[] = [];

  beforeAll(async () => {
    const env = {
      AUTON_DB: (dbUrl = await pg().createDatabase()), AUTON_LEASE_TTL_MS: '3000', ANTHROPIC_BASE_URL: fake.url, ANTHROPIC_API_KEY: 'test',
      AUTON_MODEL_MAX_RETRIES: '0', AUTON_JUDGE_EVERY_TURNS: '0', AUTON_HEARTBEAT_MS: '60000',
      AUTON_API_KEYS: `ops=${OPS_KEY},lab:east=${SCOPED_KEY}`,
    };
    await Promise.all(['alpha', 'beta'].map(async (id) => {
      const daemon = await startDaemonProcess({ ...env, AUTON_DAEMON_ID: id });
      started.push(daemon);
      urls.set(id, daemon.url);
    }));
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.close();
  });

  async function connect(via: string, key: string): Promise<Client> {
    const client = new Client({ name: 'claude-code-like', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${urls.get(via)}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
    clients.push(client);
    return client;
  }
  const text = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;
  async function call<T>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    if (result.isError) throw new Error(`${name}: ${text(result)}`);
    return JSON.parse(text(result)) as T;
  }
  const ownerOf = async (root: string, via = 'alpha') => {
    const { body } = await api(urls.get(via)!, OPS_KEY).get<{ leases: Array<{ root: string; owner: string; state: string }> }>('/cluster');
    return body.leases.find((l) => l.root === root && l.state === 'held')?.owner;
  };

  it('a client of one daemon lists, reads, messages, suspends and resumes the agents another daemon owns', async () => {
    const http = api(urls.get('alpha')!, OPS_KEY);
    for (const id of ['east', 'west']) expect((await http.post('/agents', { id, spec: { goal: `survey the ${id}` } })).status).toBe(201);
    const theirs = (await ownerOf('east')) === 'alpha' ? 'east' : 'west'; // placement spreads the two roots
    expect(await ownerOf(theirs)).toBe('alpha');
    await expect.poll(() => requestsOf(theirs).length, { timeout: 15_000 }).toBe(1);

    const client = await connect('beta', OPS_KEY);
    const tree = await call<{ agents: Array<{ path: string }>; total: number }>(client, 'list_agents', {});
    expect(tree.agents.map((a) => a.path).sort()).toEqual(['east', 'west']);
    expect((await call<{ path: string; state: string }>(client, 'get_agent', { path: theirs })).path).toBe(theirs);

    // The owner's agent answers a message sent through the other daemon.
    expect(await call(client, 'message_agent', { path: theirs, content: 'sent over MCP to beta' })).toEqual({ status: 'delivered', path: theirs });
    await expect.poll(() => requestsOf(theirs).length, { timeout: 15_000 }).toBe(2);
    expect(JSON.stringify(requestsOf(theirs)[1]!.body.messages)).toContain('sent over MCP to beta');
    const modelCalls = async () => (await call<{ events: Array<{ type: string }> }>(client, 'read_log', { path: theirs })).events.filter((e) => e.type === 'model_call').length;
    await expect.poll(modelCalls, { timeout: 10_000 }).toBe(2); // its log, read through beta

    expect((await call<{ state: string }>(client, 'suspend_agent', { path: theirs, detail: 'paused over MCP' })).state).toBe('suspended');
    expect((await http.get<{ state: string }>(`/agents/${theirs}`)).body.state).toBe('suspended'); // on its owner
    expect((await call<{ state: string }>(client, 'resume_agent', { path: theirs })).state).not.toBe('suspended');
    expect(await ownerOf(theirs)).toBe('alpha'); // steered where it runs, not taken over

    // A refusal by the owner is a tool error with the owner's message.
    const refused = (await client.callTool({ name: 'resume_agent', arguments: { path: theirs } })) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/suspended/);
    const missing = (await client.callTool({ name: 'get_agent', arguments: { path: `${theirs}/nobody` } })) as CallToolResult;
    expect(text(missing)).toMatch(/not found/);
  }, 30_000);

  it("another daemon's agent is a readable resource, and a subscription to it says where to subscribe", async () => {
    const theirs = (await ownerOf('east')) === 'alpha' ? 'east' : 'west';
    const client = await connect('beta', OPS_KEY);
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.name).sort()).toEqual(['east', 'west']);
    const read = await client.readResource({ uri: `auton://agents/${theirs}` });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ path: theirs });
    await expect(client.subscribeResource({ uri: `auton://agents/${theirs}` })).rejects.toThrow(/run by daemon alpha.*subscribe through alpha/);
  }, 30_000);

  it('a scoped key sees its subtree alone whichever daemon it asks, and a child spawned under it lands with its root', async () => {
    const owner = await ownerOf('east');
    const other = owner === 'alpha' ? 'beta' : 'alpha';
    const client = await connect(other, SCOPED_KEY);
    expect((await call<{ agents: Array<{ path: string }> }>(client, 'list_agents', {})).agents.map((a) => a.path)).toEqual(['east']);
    const hidden = (await client.callTool({ name: 'get_agent', arguments: { path: 'west' } })) as CallToolResult;
    expect(text(hidden)).toMatch(/west not found/);
    expect((await call<{ path: string }>(client, 'spawn_agent', { parent: 'east', id: 'scout', spec: { goal: 'look ahead' } })).path).toBe('east/scout');
    expect((await api(urls.get(owner!)!, OPS_KEY).get(`/agents/east/scout`)).status).toBe(200);
  }, 30_000);

  it("a write the owner took and did not answer is a tool error saying the outcome is unknown, and is not sent twice", async () => {
    // A peer registered in the database as the owner of `zed`, which hangs up once it has read a request.
    const seen: Array<{ line: string; authorization: string | undefined }> = [];
    const hangUp = (req: IncomingMessage, res: ServerResponse) => {
      seen.push({ line: `${req.method} ${req.url}`, authorization: req.headers.authorization });
      req.resume();
      req.on('end', () => res.socket?.destroy());
    };
    await withBrokenOwner(dbUrl, hangUp, async () => {
      const client = await connect('beta', OPS_KEY);
      const result = (await client.callTool({ name: 'suspend_agent', arguments: { path: 'zed/worker' } })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/broken .* may or may not have been made/);
      expect(seen).toEqual([{ line: 'POST /agents/zed%2Fworker/suspend', authorization: `Bearer ${OPS_KEY}` }]); // once, with the caller's key
    });
  }, 30_000);

  it('a subscription gets a last update when its subtree moves to another daemon, and the resource is then read there', async () => {
    const theirs = (await ownerOf('east')) === 'alpha' ? 'east' : 'west';
    const client = await connect('alpha', OPS_KEY);
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    await client.subscribeResource({ uri: `auton://agents/${theirs}` });
    // alpha paused past its lease: beta takes the subtree over, and alpha, woken, lets it go.
    const alpha = started.find((d) => d.url === urls.get('alpha'))!;
    alpha.child.kill('SIGSTOP');
    try {
      await expect.poll(() => ownerOf(theirs, 'beta'), { timeout: 15_000, interval: 200 }).toBe('beta');
    } finally {
      alpha.child.kill('SIGCONT');
    }
    await expect.poll(() => updated, { timeout: 10_000 }).toContain(`auton://agents/${theirs}`);
    const read = await client.readResource({ uri: `auton://agents/${theirs}` });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ path: theirs });
    expect((await call<{ state: string }>(client, 'suspend_agent', { path: theirs })).state).toBe('suspended'); // steered on beta now
  }, 30_000);
});

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, type Api } from '../support/daemon.js';
import { killHard, startDaemonProcess, type DaemonProcess } from '../support/daemon-process.js';
import { withBrokenOwner } from '../support/broken-owner.js';
import { startFakeMessagesApi, type FakeMessagesApi, callerOf } from '../support/fake-messages-api.js';
import { describeWithPostgres } from '../support/postgres.js';
import { openSse } from '../support/sse-client.js';
import { buildCli, runCli } from '../support/run-cli.js';

/**
 * Several real daemon processes on one PostgreSQL database (issue 14): subtrees placed on the least loaded daemon,
 * any daemon answering any request, failover after kill -9 and SIGSTOP, SIGTERM handing subtrees over at once.
 * The lease TTL is the shortest allowed (3 s) so failovers happen within the test's patience.
 */
const TTL_MS = 3_000;
const started: DaemonProcess[] = [];
let fake: FakeMessagesApi;
/** Per agent path, how long the fake takes to answer (a call in flight when a daemon dies). */
const slow = new Map<string, number>();

beforeAll(async () => {
  fake = await startFakeMessagesApi();
  fake.setHandler((req) => ({ kind: 'text', text: `noted (${caller(req)})`, delayMs: slow.get(caller(req)) ?? 0 }));
});

afterAll(async () => {
  for (const { child } of started) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  await fake?.close();
});

const caller = callerOf;
const requestsOf = (path: string) => fake.requests.filter((r) => caller(r) === path);

interface ClusterJson {
  self: string;
  daemons: Array<{ id: string; live: boolean; leases: number }>;
  leases: Array<{ root: string; owner: string; epoch: number; state: string }>;
}

describeWithPostgres('several daemons on one PostgreSQL database', (pg) => {
  let env: Record<string, string>;
  const daemons = new Map<string, { process: DaemonProcess; http: Api }>();

  async function start(id: string, extra: Record<string, string> = {}): Promise<Api> {
    const process = await startDaemonProcess({ ...env, AUTON_DAEMON_ID: id, ...extra });
    started.push(process);
    const http = api(process.url);
    daemons.set(id, { process, http });
    return http;
  }
  const http = (id: string) => daemons.get(id)!.http;
  const cluster = async (via: string) => (await http(via).get<ClusterJson>('/cluster')).body;
  const ownerOf = async (root: string, via: string) => (await cluster(via)).leases.find((l) => l.root === root && l.state === 'held')?.owner;
  const counter = async (via: string, name: string) => {
    const text = (await http(via).get<string>('/metrics')).body;
    return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  };
  const conversationText = async (path: string, via: string) => JSON.stringify((await http(via).get(`/agents/${path}/conversation?limit=200`)).body);

  beforeAll(async () => {
    env = {
      AUTON_DB: await pg().createDatabase(), AUTON_LEASE_TTL_MS: String(TTL_MS), ANTHROPIC_BASE_URL: fake.url, ANTHROPIC_API_KEY: 'test',
      AUTON_MODEL_MAX_RETRIES: '0', AUTON_JUDGE_EVERY_TURNS: '0', AUTON_RESTART_BACKOFF_MS: '0', AUTON_HEARTBEAT_MS: '60000',
    };
    await Promise.all([start('alpha'), start('beta')]);
  }, 60_000);

  it('new roots are spread over the daemons, and either daemon shows the whole tree and serves any agent', async () => {
    for (const id of ['north', 'south']) expect((await http('alpha').post('/agents', { id, spec: { goal: `survey the ${id}` } })).status).toBe(201);
    const owners = [await ownerOf('north', 'alpha'), await ownerOf('south', 'alpha')];
    expect(new Set(owners)).toEqual(new Set(['alpha', 'beta']));
    for (const via of ['alpha', 'beta']) {
      const { body } = await http(via).get<{ agents: Array<{ path: string }> }>('/agents');
      expect(body.agents.map((a) => a.path).sort()).toEqual(['north', 'south']);
    }
    // A message through the daemon that does not own the agent reaches the owner, which answers it.
    const remote = owners[0] === 'alpha' ? 'south' : 'north';
    await expect.poll(() => requestsOf(remote).length, { timeout: 15_000 }).toBe(1);
    const stream = await openSse(`${daemons.get('alpha')!.process.url}/agents/${remote}/observe`);
    expect(stream.status).toBe(200);
    expect((await stream.next('health')).data).toMatchObject({ path: remote });
    expect((await http('alpha').post(`/agents/${remote}/message`, { content: 'relayed through alpha' })).status).toBe(200);
    await expect.poll(() => requestsOf(remote).length, { timeout: 15_000 }).toBe(2);
    expect(JSON.stringify(requestsOf(remote)[1]!.body.messages)).toContain('relayed through alpha');
    await stream.next((e) => e.event === 'model_call');
    stream.close();
    expect(await conversationText(remote, 'alpha')).toContain('relayed through alpha');
    // A fork of a root is a new root, leased where its source lives.
    expect((await http('beta').post(`/agents/${remote}/checkpoint`, { label: 'before the fork' })).status).toBe(201);
    expect((await http('beta').post(`/agents/${remote}/fork`, { id: `${remote}-copy` })).status).toBe(201);
    expect(await ownerOf(`${remote}-copy`, 'alpha')).toBe(await ownerOf(remote, 'alpha'));
    expect((await http('beta').delete(`/agents/${remote}-copy?purge=true`)).status).toBe(200);
    // Routes naming the subtree in the query go to its owner too.
    expect((await http('alpha').get(`/approvals?path=${remote}`)).status).toBe(200);
    expect((await http('alpha').post(`/oversight/check?dry_run=true&path=${remote}`, {})).status).toBe(200);
    expect(await counter('alpha', 'auton_forwarded_requests_total')).toBeGreaterThanOrEqual(3);
    const { body: both } = await http('beta').get<ClusterJson>('/cluster');
    expect(both.daemons.map((d) => [d.id, d.live, d.leases])).toEqual([['alpha', true, 1], ['beta', true, 1]]);
  }, 60_000);

  it('the MCP server places a root spawn as POST /agents does, on whichever daemon it is', async () => {
    const client = new Client({ name: 'claude-code-like', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${daemons.get('beta')!.process.url}/mcp`)));
    try {
      const result = (await client.callTool({ name: 'spawn_agent', arguments: { id: 'via-mcp', spec: { goal: 'answer over MCP' } } })) as CallToolResult;
      expect(result.isError).toBeFalsy();
      expect(await ownerOf('via-mcp', 'alpha')).toMatch(/^(alpha|beta)$/);
      expect(((await client.callTool({ name: 'get_agent', arguments: { path: 'via-mcp' } })) as CallToolResult).isError).toBeFalsy();
      const taken = (await client.callTool({ name: 'spawn_agent', arguments: { id: 'north', spec: { goal: 'steal' } } })) as CallToolResult;
      expect(taken.isError).toBe(true); // north exists (on one daemon or the other): a conflict, not a second north
      expect(JSON.stringify(taken.content)).toMatch(/already exists/);
    } finally {
      await client.close();
    }
    expect((await http('alpha').delete('/agents/via-mcp?purge=true')).status).toBe(200);
  }, 30_000);

  it('kill -9 of the owner: the other daemon takes the subtree over, the acknowledged message is answered, and Last-Event-ID resumes the stream', async () => {
    const root = (await ownerOf('north', 'alpha')) === 'beta' ? 'north' : 'south';
    const stream = await openSse(`${daemons.get('alpha')!.process.url}/agents/${root}/observe`);
    await stream.next('health');
    slow.set(root, 60_000); // the next call is still in flight when its daemon dies
    const calls = requestsOf(root).length;
    expect((await http('alpha').post(`/agents/${root}/message`, { content: 'acknowledged before the kill' })).status).toBe(200);
    await expect.poll(() => requestsOf(root).length, { timeout: 15_000 }).toBe(calls + 1);
    await stream.next((e) => e.event === 'state_change');
    const cursor = stream.lastEventId!;
    slow.delete(root);
    const killedAt = Date.now();
    await killHard(daemons.get('beta')!.process);
    await stream.untilEnded(5_000); // the relayed stream ends with its owner

    // alpha adopts the subtree once beta's lease expires and calls the model again with the message in the context.
    await expect.poll(() => requestsOf(root).length, { timeout: TTL_MS + 10_000, interval: 100 }).toBe(calls + 2);
    expect(Date.now() - killedAt).toBeLessThan(TTL_MS + 5_000);
    expect(JSON.stringify(requestsOf(root).at(-1)!.body.messages)).toContain('acknowledged before the kill');
    expect(await ownerOf(root, 'alpha')).toBe('alpha');
    expect((await cluster('alpha')).daemons.find((d) => d.id === 'beta')?.live).toBe(false);

    const resumed = await openSse(`${daemons.get('alpha')!.process.url}/agents/${root}/observe`, { lastEventId: cursor });
    const replayed = await resumed.next((e) => e.event === 'model_call');
    expect(resumed.events.some((e) => e.event === 'reset')).toBe(false);
    expect(Number(replayed.id)).toBeGreaterThan(Number(cursor)); // ids keep rising across the takeover
    resumed.close();
    // Back with a long lease, so the next test can tell a handover from an expiry.
    await start('beta', { AUTON_LEASE_TTL_MS: '20000' });
  }, 90_000);

  it('SIGTERM hands the subtrees over at once, not after the lease TTL (20 s here)', async () => {
    expect((await http('beta').post('/agents', { id: 'east', spec: { goal: 'survey the east' } })).status).toBe(201);
    await expect.poll(() => ownerOf('east', 'alpha')).toBe('beta'); // the least loaded daemon: beta, just restarted
    await expect.poll(() => requestsOf('east').length, { timeout: 15_000 }).toBe(1);
    const { process } = daemons.get('beta')!;
    const sentAt = Date.now();
    process.child.kill('SIGTERM');
    expect((await process.exited).code).toBe(0);
    await expect.poll(() => ownerOf('east', 'alpha'), { timeout: 10_000, interval: 50 }).toBe('alpha');
    expect(Date.now() - sentAt).toBeLessThan(10_000); // an expiry would take 20 s
    expect((await cluster('alpha')).daemons.map((d) => d.id)).toEqual(['alpha']); // it left the list on its way out
    expect((await http('alpha').post('/agents/east/message', { content: 'after the drain' })).status).toBe(200);
    await expect.poll(() => requestsOf('east').length, { timeout: 15_000 }).toBe(2);
  }, 60_000);

  it('a daemon paused past its lease loses the subtree: it stops its agents and forwards to the new owner', async () => {
    await start('gamma');
    expect((await http('gamma').post('/agents', { id: 'west', spec: { goal: 'survey the west' } })).status).toBe(201);
    await expect.poll(() => ownerOf('west', 'alpha')).toBe('gamma');
    await expect.poll(() => requestsOf('west').length, { timeout: 15_000 }).toBe(1);
    // Its answer stored (else the next owner rightly calls the model again for the turn it finds unanswered): alpha
    // shows gamma's subtree as the database has it.
    const stored = async () => (await http('alpha').get<{ agents: Array<{ path: string; state: string }> }>('/agents')).body.agents.find((a) => a.path === 'west')?.state;
    await expect.poll(stored, { timeout: 10_000 }).toBe('idle');
    const { process } = daemons.get('gamma')!;
    process.child.kill('SIGSTOP');
    try {
      // alpha takes it over; a message sent meanwhile is served there.
      await expect.poll(() => ownerOf('west', 'alpha'), { timeout: TTL_MS + 5_000, interval: 100 }).toBe('alpha');
      expect((await http('alpha').post('/agents/west/message', { content: 'while gamma was paused' })).status).toBe(200);
      await expect.poll(() => requestsOf('west').length, { timeout: 15_000 }).toBe(2);
    } finally {
      process.child.kill('SIGCONT');
    }
    // gamma finds its lease gone at its next renewal and lets the subtree go; a request to it reaches alpha.
    await expect.poll(() => counter('gamma', 'auton_leases_lost_total'), { timeout: TTL_MS + 5_000 }).toBeGreaterThanOrEqual(1);
    expect(await counter('gamma', 'auton_leases_held')).toBe(0);
    expect(await conversationText('west', 'gamma')).toContain('while gamma was paused');
    const { body } = await http('gamma').get<{ turns: Array<{ seq: number }> }>('/agents/west/conversation?limit=200');
    const seqs = body.turns.map((r) => r.seq);
    expect(seqs).toEqual([...seqs.keys()].map((i) => seqs[0]! + i)); // one history, no turn written twice
  }, 90_000);
  it('three daemons: kill -9 one, and the two others take its subtrees over between them; every daemon shows the whole tree', async () => {
    await start('beta');
    const roots = ['isle-1', 'isle-2', 'isle-3', 'isle-4'];
    // Each wakes every 2 s: its schedule must keep ticking wherever it ends up.
    for (const id of roots) expect((await http('beta').post('/agents', { id, spec: { goal: `map ${id}`, schedule: '*/2 * * * * *' } })).status).toBe(201);
    const victim = 'gamma';
    const theirs: string[] = [];
    for (const id of roots) if ((await ownerOf(id, 'alpha')) === victim) theirs.push(id);
    expect(theirs.length).toBeGreaterThan(0); // placement spread the new roots onto gamma too
    await killHard(daemons.get(victim)!.process);
    const callsAtKill = theirs.map((id) => requestsOf(id).length);
    for (const id of theirs) {
      await expect.poll(() => ownerOf(id, 'alpha'), { timeout: TTL_MS + 5_000, interval: 100 }).toMatch(/^(alpha|beta)$/);
    }
    for (const [i, id] of theirs.entries()) {
      await expect.poll(() => requestsOf(id).length, { timeout: 10_000 }).toBeGreaterThan(callsAtKill[i]! + 1); // woken by its schedule again
    }
    for (const via of ['alpha', 'beta']) {
      const { body } = await http(via).get<{ agents: Array<{ path: string }> }>('/agents');
      expect(body.agents.map((a) => a.path).sort()).toEqual(['east', ...roots, 'north', 'south', 'west'].sort());
    }
    const live = (await cluster('beta')).daemons.filter((d) => d.live).map((d) => d.id);
    expect(live).toEqual(['alpha', 'beta']);
    // `auton cluster`, as an operator reads it.
    await buildCli();
    const cli = await runCli(['cluster'], { url: daemons.get('beta')!.process.url });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^alpha  live  http:\/\/127\.0\.0\.1:\d+  \d+ agents  \d+ subtrees$/m);
    expect(cli.stdout).toMatch(/^beta \(answered\)  live  /m);
    expect(cli.stdout).toMatch(/^gamma  silent  .* 0 subtrees$/m);
    for (const id of theirs) expect(cli.stdout).toMatch(new RegExp(`^  ${id} +(alpha|beta)  epoch 2  renews within`, 'm'));
  }, 90_000);
  it('a write the owner took but never answered is not sent twice: 502 when it hung up, 504 when it went silent', async () => {
    // A peer registered in the database that owns `zed`, as a daemon that breaks mid-request would.
    let behaviour: 'hang up' | 'silent' = 'hang up';
    const seen: string[] = [];
    const peer = (req: IncomingMessage, res: ServerResponse) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      if (behaviour === 'hang up') req.on('end', () => res.socket?.destroy());
    };
    await withBrokenOwner(env.AUTON_DB!, peer, async () => {
      const hungUp = await http('alpha').post<{ message: string }>('/agents/zed/message', { content: 'once' });
      expect(hungUp.status).toBe(502);
      expect(hungUp.body.message).toMatch(/may or may not have been made/);
      expect(seen).toEqual(['POST /agents/zed/message']); // not sent again
      behaviour = 'silent';
      const started = Date.now();
      const silent = await http('alpha').post<{ message: string }>('/agents/zed/message', { content: 'once more' });
      expect(silent.status).toBe(504);
      expect(Date.now() - started).toBeGreaterThanOrEqual(TTL_MS);
      expect(seen).toHaveLength(2);
    });
  }, 30_000);
});

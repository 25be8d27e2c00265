import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { api, expectError, spawnAgent, startTestDaemon, type Api, type TestDaemon } from '../support/daemon.js';
import type { FakeReply, RecordedRequest } from '../support/fake-messages-api.js';
import { dataOf } from '../support/sse-client.js';
import { daemonPerTest, lastUserBlocks, openLog, requestsOf, scriptByAgent, TEXT_OK, waitForNode } from '../runner/runner-support.js';

const start = daemonPerTest();

interface ApprovalJson { id: string; path: string; tool: string; input: Record<string, unknown>; state: string; decided_by: string | null; note: string | null; rule: { tool: string; from: string } }

const ASK = { tool: 'list_children', decision: 'ask' } as const;
const callListChildren = (id = 'toolu_lc_1'): FakeReply => ({ kind: 'tool_use', name: 'list_children', input: { why: 'look' }, id });

/** The tool_result blocks of a request's last user turn. */
function toolResults(req: RecordedRequest): Array<Record<string, unknown>> {
  return lastUserBlocks(req).filter((b) => b.type === 'tool_result');
}

async function pendingApproval(http: Api, path = ''): Promise<ApprovalJson> {
  return vi.waitFor(async () => {
    const res = await http.get<{ approvals: ApprovalJson[] }>(`/approvals${path ? `?path=${path}` : ''}`);
    expect(res.status).toBe(200);
    expect(res.body.approvals).toHaveLength(1);
    return res.body.approvals[0]!;
  }, { timeout: 5_000, interval: 10 });
}

/** Waits for the agent's `n`th model request and returns it. */
async function nthRequest(t: TestDaemon, path: string, n: number): Promise<RecordedRequest> {
  return vi.waitFor(() => {
    const requests = requestsOf(t, path);
    expect(requests.length).toBeGreaterThanOrEqual(n);
    return requests[n - 1]!;
  }, { timeout: 5_000, interval: 10 });
}

describe('a tool call that needs a yes', () => {
  it('holds the agent (running, waiting_for) until allowed, then the tool runs and the model reads its result', async () => {
    const { t, http } = await start();
    scriptByAgent(t, { a: [callListChildren(), TEXT_OK] });
    await spawnAgent(http, null, 'a', { policy: { approvals: [ASK] } });
    const approval = await pendingApproval(http);
    const log = await openLog(t, 'a'); // replays the agent's recent entries first
    expect(approval).toMatchObject({ path: 'a', tool: 'list_children', input: { why: 'look' }, state: 'pending', rule: { tool: 'list_children', from: 'a' } });
    const node = (await http.get<AgentNodeJson>('/agents/a')).body;
    expect(node.state).toBe('running');
    expect(node.waiting_for).toEqual({ approval: approval.id, tool: 'list_children' });
    expect(requestsOf(t, 'a')).toHaveLength(1); // held: no tool result, no next call

    const decided = await http.post<ApprovalJson>(`/agents/a/approvals/${approval.id}`, { decision: 'allow', note: 'fine' });
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({ state: 'allowed', decided_by: 'operator', note: 'fine' });
    const next = await nthRequest(t, 'a', 2);
    expect(toolResults(next)).toEqual([{ type: 'tool_result', tool_use_id: 'toolu_lc_1', content: '[]' }]);
    await waitForNode(http, 'a', (n) => expect(n.waiting_for).toBeUndefined());
    const requested = await log.next('approval_requested');
    expect(dataOf(requested)).toMatchObject({ approval: approval.id, tool: 'list_children', input: { why: 'look' } });
    expect(dataOf(await log.next('approval_decided'))).toMatchObject({ approval: approval.id, decision: 'allow', by: 'operator', note: 'fine' });
    log.close();
    expect((await http.get<{ approvals: unknown[] }>('/approvals')).body.approvals).toEqual([]);
  });

  it('a denied call is an error result the model reads, with the note', async () => {
    const { t, http } = await start();
    scriptByAgent(t, { a: [callListChildren(), TEXT_OK] });
    await spawnAgent(http, null, 'a', { policy: { approvals: [ASK] } });
    const approval = await pendingApproval(http);
    expect((await http.post(`/agents/a/approvals/${approval.id}`, { decision: 'deny', note: 'not now' })).status).toBe(200);
    const [result] = toolResults(await nthRequest(t, 'a', 2));
    expect(result).toMatchObject({ tool_use_id: 'toolu_lc_1', is_error: true });
    expect(String(result!.content)).toMatch(/denied this list_children call: not now/);
  });

  it('a deny rule refuses the call at once, without an approval', async () => {
    const { t, http } = await start();
    scriptByAgent(t, { a: [callListChildren(), TEXT_OK] });
    await spawnAgent(http, null, 'a', { policy: { approvals: [{ tool: 'list_*', decision: 'deny' }] } });
    const [result] = toolResults(await nthRequest(t, 'a', 2));
    expect(result).toMatchObject({ is_error: true });
    expect(String(result!.content)).toMatch(/list_children is denied by policy.approvals of a \(rule "list_\*"\)/);
    expect((await http.get<{ approvals: unknown[] }>('/approvals')).body.approvals).toEqual([]);
  });

  it('an unknown approval id is a 404', async () => {
    const { http } = await start();
    await spawnAgent(http, null, 'a', { policy: { approvals: [ASK] } });
    expectError(await http.post('/agents/a/approvals/ap-nope', { decision: 'allow' }), 404, 'approval ap-nope not found');
  });
});

describe('deciding', () => {
  it('409 on a second decision, 400 for remember with deny', async () => {
    const { t, http } = await start();
    scriptByAgent(t, { a: [callListChildren(), TEXT_OK] });
    await spawnAgent(http, null, 'a', { policy: { approvals: [ASK] } });
    const approval = await pendingApproval(http);
    expectError(await http.post(`/agents/a/approvals/${approval.id}`, { decision: 'deny', remember: 'agent' }), 400, /remember/);
    expect((await http.post(`/agents/a/approvals/${approval.id}`, { decision: 'allow' })).status).toBe(200);
    expectError(await http.post(`/agents/a/approvals/${approval.id}`, { decision: 'deny' }), 409, /already allowed \(by operator\)/);
    expect(toolResults(await nthRequest(t, 'a', 2))[0]).not.toHaveProperty('is_error');
  });

  it('keys: outside the scope an approval is a 404 word for word as an unknown one; a read key may list but not decide', async () => {
    const { t, http } = await start({ AUTON_API_KEYS: 'root=k-root-0123456789abcdef:admin,teamb:b=k-b-0123456789abcdef:operator,reader:a=k-read-0123456789abcdef:read' });
    const admin = api(t.url, 'k-root-0123456789abcdef');
    scriptByAgent(t, { a: [callListChildren(), TEXT_OK] });
    void http;
    await spawnAgent(admin, null, 'a', { policy: { approvals: [ASK] } });
    await spawnAgent(admin, null, 'b');
    const approval = await pendingApproval(admin);
    const teamB = api(t.url, 'k-b-0123456789abcdef');
    const unknown = await teamB.post<{ message: string }>('/agents/b/approvals/ap-000000000000', { decision: 'allow' });
    const outside = await teamB.post<{ message: string }>(`/agents/b/approvals/${approval.id}`, { decision: 'allow' });
    expectError(outside, 404);
    expect(outside.body.message).toBe(unknown.body.message.replace('ap-000000000000', approval.id));
    expectError(await teamB.post(`/agents/a/approvals/${approval.id}`, { decision: 'allow' }), 404, 'agent a not found');
    expect((await teamB.get<{ approvals: unknown[] }>('/approvals')).body.approvals).toEqual([]);
    expectError(await teamB.get('/approvals?path=a'), 404, 'agent a not found');
    const reader = api(t.url, 'k-read-0123456789abcdef');
    expect((await reader.get<{ approvals: unknown[] }>('/approvals')).body.approvals).toHaveLength(1);
    expectError(await reader.post(`/agents/a/approvals/${approval.id}`, { decision: 'allow' }), 403);
    expect((await admin.get<{ approvals: ApprovalJson[] }>('/approvals')).body.approvals[0]!.state).toBe('pending');
  });
});

describe('rules down the tree', () => {
  it("a parent's rule holds its children's calls, and remember=subtree allows that tool below it from then on", async () => {
    const { t, http } = await start();
    scriptByAgent(t, { 'p/c': [callListChildren('toolu_c1'), callListChildren('toolu_c2'), TEXT_OK] });
    await spawnAgent(http, null, 'p', { policy: { approvals: [ASK] } });
    await spawnAgent(http, 'p', 'c');
    const approval = await pendingApproval(http, 'p');
    expect(approval).toMatchObject({ path: 'p/c', rule: { tool: 'list_children', from: 'p' } });
    expect((await http.post(`/agents/p/approvals/${approval.id}`, { decision: 'allow', remember: 'subtree' })).status).toBe(200);
    const third = await nthRequest(t, 'p/c', 3); // the second call ran without asking
    expect(toolResults(third)[0]).toMatchObject({ tool_use_id: 'toolu_c2', content: '[]' });
    expect((await http.get<{ approvals: unknown[] }>('/approvals')).body.approvals).toEqual([]);
  });

  it('remember=agent allows that tool for the agent alone: a sibling still asks', async () => {
    const { t, http } = await start();
    scriptByAgent(t, { 'p/c': [callListChildren('toolu_c1'), callListChildren('toolu_c2'), TEXT_OK], 'p/d': [callListChildren('toolu_d1'), TEXT_OK] });
    await spawnAgent(http, null, 'p', { policy: { approvals: [ASK] } });
    await spawnAgent(http, 'p', 'c');
    const approval = await pendingApproval(http, 'p/c');
    expect((await http.post(`/agents/p/c/approvals/${approval.id}`, { decision: 'allow', remember: 'agent' })).status).toBe(200);
    expect(toolResults(await nthRequest(t, 'p/c', 3))[0]).toMatchObject({ tool_use_id: 'toolu_c2', content: '[]' });
    await spawnAgent(http, 'p', 'd');
    expect(await pendingApproval(http, 'p')).toMatchObject({ path: 'p/d', tool: 'list_children' });
  });

  it('a child may tighten its inherited rules but never loosen them (a 400 naming the rule)', async () => {
    const { http } = await start();
    await spawnAgent(http, null, 'p', { policy: { approvals: [{ tool: 'mcp__github__*', decision: 'ask' }] } });
    const looser = await http.post('/agents/p', { id: 'c', spec: { goal: 'g' }, policy: { approvals: [{ tool: 'mcp__github__list_issues', decision: 'allow' }] } });
    expectError(looser, 400, /^policy.approvals\[0\]: allow for mcp__github__list_issues is looser than ask \(on_timeout deny\) inherited from p/);
    const everything = await http.post('/agents/p', { id: 'c', spec: { goal: 'g' }, policy: { approvals: [{ tool: '*', decision: 'allow' }] } });
    expectError(everything, 400, /policy.approvals\[0\]/);
    const tighter = await http.post('/agents/p', { id: 'c', spec: { goal: 'g' }, policy: { approvals: [{ tool: 'mcp__github__*', decision: 'deny' }] } });
    expect(tighter.status).toBe(201);
    expectError(await http.post('/agents', { id: 'x', spec: { goal: 'g' }, policy: { approvals: [{ tool: 'fetch webpage', decision: 'ask' }] } }), 400, /policy.approvals.0.tool/);
  });
});

describe('timeouts, halts and restarts', () => {
  afterEach(() => vi.useRealTimers());

  it('an unanswered approval times out into on_timeout', async () => {
    const { t, http } = await start();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    scriptByAgent(t, { a: [callListChildren(), TEXT_OK] });
    await spawnAgent(http, null, 'a', { policy: { approvals: [{ ...ASK, timeout_seconds: 60, on_timeout: 'allow' }] } });
    const approval = await pendingApproval(http);
    vi.advanceTimersByTime(59_000);
    expect((await http.get<{ approvals: unknown[] }>('/approvals')).body.approvals).toHaveLength(1);
    vi.advanceTimersByTime(1_000);
    vi.useRealTimers();
    const next = await nthRequest(t, 'a', 2);
    expect(toolResults(next)[0]).toMatchObject({ tool_use_id: 'toolu_lc_1', content: '[]' });
    expectError(await http.post(`/agents/a/approvals/${approval.id}`, { decision: 'deny' }), 409, /already expired \(by timeout\)/);
  });

  it('suspending cancels the approval; after resume the call answers as interrupted', async () => {
    const { t, http } = await start();
    scriptByAgent(t, { a: [callListChildren(), TEXT_OK] });
    await spawnAgent(http, null, 'a', { policy: { approvals: [ASK] } });
    const approval = await pendingApproval(http);
    expect((await http.post('/agents/a/suspend', {})).status).toBe(200);
    expect((await http.get<{ approvals: unknown[] }>('/approvals')).body.approvals).toEqual([]);
    expectError(await http.post(`/agents/a/approvals/${approval.id}`, { decision: 'allow' }), 409, /already cancelled/);
    expect((await http.post('/agents/a/resume', {})).status).toBe(200);
    const [result] = toolResults(await nthRequest(t, 'a', 2));
    expect(result).toMatchObject({ tool_use_id: 'toolu_lc_1', is_error: true });
  });

  it('a pending approval survives a daemon restart; allowed then, the held call runs', async () => {
    const first = await startTestDaemon();
    scriptByAgent(first, { a: [callListChildren()] });
    const http1 = api(first.url);
    await spawnAgent(http1, null, 'a', { policy: { approvals: [ASK] } });
    const approval = await pendingApproval(http1);
    await first.daemon.close();
    const { startDaemon } = await import('../../src/daemon.js');
    const { loadConfig } = await import('../../src/config.js');
    first.fake.reset();
    scriptByAgent(first, { a: [TEXT_OK] });
    const second = await startDaemon(loadConfig({
      AUTON_HOST: '127.0.0.1', AUTON_PORT: '0', AUTON_DB: first.dbPath, ANTHROPIC_API_KEY: 'test-key',
      ANTHROPIC_BASE_URL: first.fake.url, AUTON_MODEL_MAX_RETRIES: '0', AUTON_JUDGE_EVERY_TURNS: '0',
    }), { logger: false });
    try {
      const http2 = api(second.url);
      expect(await pendingApproval(http2)).toMatchObject({ id: approval.id, state: 'pending', tool: 'list_children' });
      expect((await http2.get<AgentNodeJson>('/agents/a')).body.waiting_for).toEqual({ approval: approval.id, tool: 'list_children' });
      expect((await http2.post(`/agents/a/approvals/${approval.id}`, { decision: 'allow' })).status).toBe(200);
      const [req] = await first.fake.waitForRequests(1);
      expect(toolResults(req!)).toEqual([{ type: 'tool_result', tool_use_id: 'toolu_lc_1', content: '[]' }]);
    } finally {
      await second.close();
      await first.close();
    }
  });
});

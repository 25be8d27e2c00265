import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AgentNodeJson, PolicyInput } from '../../src/domain/schemas.js';
import { spawnAgent, type Api, type ErrorBody, type TestDaemon } from '../support/daemon.js';
import type { RecordedRequest } from '../support/fake-messages-api.js';
import { dataOf, openSse } from '../support/sse-client.js';
import { daemonPerTest, expectToolUsesAnswered, lastUserBlocks, nextState, openLog, requestsOf, scriptByAgent, TEXT_OK, toolNames } from './runner-support.js';

const start = daemonPerTest();
let t: TestDaemon;
let http: Api;
// The fetch_webpage tests' page server listens on loopback, which fetch_webpage refuses unless allowed.
beforeEach(async () => ({ t, http } = await start({ AUTON_FETCH_ALLOW: '127.0.0.1' })));

const COORDINATION = ['spawn_child', 'list_children', 'message_child', 'report_to_parent'];

/** The tool_result blocks of a request's last user turn. */
function toolResults(req: RecordedRequest): Array<Record<string, unknown>> {
  return lastUserBlocks(req).filter((b) => b.type === 'tool_result');
}

/**
 * Spawns `path` (its parent must exist) and has it call one tool, then end its turn; other agents' calls hang.
 * Resolves with the request that carried the result.
 */
async function callTool(
  path: string, name: string, input: Record<string, unknown>,
  { id = `toolu_${name}_1`, ...extra }: { id?: string; spec?: Record<string, unknown>; policy?: PolicyInput } = {},
): Promise<RecordedRequest> {
  scriptByAgent(t, { [path]: [{ kind: 'tool_use', name, input, id }, TEXT_OK] });
  const slash = path.lastIndexOf('/');
  await spawnAgent(http, slash === -1 ? null : path.slice(0, slash), path.slice(slash + 1), extra);
  const log = await openLog(t, path);
  await nextState(log, 'idle');
  log.close();
  const requests = requestsOf(t, path);
  expect(requests).toHaveLength(2);
  return requests[1]!;
}

describe('spec.tools', () => {
  it('refuses an unknown tool at spawn with a 400 listing the known tools', async () => {
    const res = await http.post<ErrorBody>('/agents', { id: 'a', spec: { goal: 'g', tools: ['web_search', 'teleport'] } });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('teleport');
    for (const known of ['web_search', 'fetch_webpage', ...COORDINATION]) expect(res.body.message).toContain(known);
    expect((await http.get('/agents/a')).status).toBe(404);
    expect(t.fake.requests).toHaveLength(0);
  });

  it("sends web_search as Anthropic's server tool, alongside the coordination tools", async () => {
    t.fake.enqueue(TEXT_OK);
    await spawnAgent(http, null, 'a', { spec: { tools: ['web_search'] } });
    const [req] = await t.fake.waitForRequests(1);
    expect(req!.body.tools).toContainEqual(expect.objectContaining({ type: 'web_search_20250305', name: 'web_search' }));
    expect(toolNames(req!).sort()).toEqual([...COORDINATION, 'web_search'].sort());
  });

  it('always sends the coordination tools, and only the optional tools the spec names', async () => {
    t.fake.enqueue(TEXT_OK);
    await spawnAgent(http, null, 'a');
    const [req] = await t.fake.waitForRequests(1);
    expect(toolNames(req!).sort()).toEqual([...COORDINATION].sort());
  });

  it('sends each tool once even when the spec names it twice', async () => {
    t.fake.enqueue(TEXT_OK);
    await spawnAgent(http, null, 'a', { spec: { tools: ['web_search', 'fetch_webpage', 'web_search', 'fetch_webpage'] } });
    const [req] = await t.fake.waitForRequests(1);
    const names = toolNames(req!);
    expect(names).toHaveLength(new Set(names).size);
    expect(names).toEqual(expect.arrayContaining(['web_search', 'fetch_webpage']));
  });
});

describe('client tools', () => {
  it("answers a tool_use with a tool_result for that tool_use_id in the next request", async () => {
    const next = await callTool('a', 'list_children', {}, { id: 'toolu_abc123' });
    expect(toolResults(next)).toEqual([{ type: 'tool_result', tool_use_id: 'toolu_abc123', content: '[]' }]);
    // The assistant turn with the tool_use precedes it, as the API requires.
    const assistant = next.body.messages.at(-2);
    expect(assistant?.role).toBe('assistant');
    expect(assistant?.content).toContainEqual(expect.objectContaining({ type: 'tool_use', id: 'toolu_abc123', name: 'list_children' }));
  });

  it('answers every tool_use of one reply, in order, in one user turn', async () => {
    t.fake.enqueue({ kind: 'tool_uses', calls: [
      { name: 'list_children', input: {}, id: 'toolu_1' },
      { name: 'report_to_parent', input: { content: 'hi' }, id: 'toolu_2' },
    ] }, TEXT_OK);
    await spawnAgent(http, null, 'a');
    const log = await openLog(t, 'a');
    await nextState(log, 'idle');
    log.close();
    const results = toolResults(t.fake.requests[1]!);
    expect(results.map((r) => r.tool_use_id)).toEqual(['toolu_1', 'toolu_2']);
    expect(results[1]).toMatchObject({ is_error: true, content: expect.stringContaining('root agent') });
  });

  it('records each tool call and result as log entries and observe events', async () => {
    await spawnAgent(http, null, 'p');
    const observe = await openSse(`${t.url}/agents/p/observe`);
    await callTool('p/c', 'list_children', { note: 'x' }, { id: 'toolu_logged' });

    const log = await openLog(t, 'p/c');
    const call = await log.next('tool_call');
    const result = await log.next('tool_result');
    log.close();
    expect(dataOf(call)).toMatchObject({ tool: 'list_children', tool_use_id: 'toolu_logged', input: { note: 'x' } });
    expect(dataOf(result)).toMatchObject({ tool: 'list_children', tool_use_id: 'toolu_logged', is_error: false, content: '[]' });

    const seenCall = await observe.next((e) => e.event === 'tool_call' && dataOf(e).path === 'p/c');
    const seenResult = await observe.next((e) => e.event === 'tool_result' && dataOf(e).path === 'p/c');
    observe.close();
    expect(Number(seenCall.id)).toBeLessThan(Number(seenResult.id));
  });

  it('turns an unknown tool name into an error result and carries on', async () => {
    const next = await callTool('a', 'teleport', { to: 'mars' });
    expect(toolResults(next)).toEqual([expect.objectContaining({ is_error: true, content: expect.stringContaining('unknown tool teleport') })]);
  });
});

describe('spawn_child', () => {
  it('grows the tree: the child shows under its parent and runs its own loop', async () => {
    scriptByAgent(t, { p: [{ kind: 'tool_use', name: 'spawn_child', input: { id: 'kid', goal: 'count the gulls' }, id: 'toolu_spawn' }] }, TEXT_OK);
    await spawnAgent(http, null, 'p');
    const log = await openLog(t, 'p');
    await nextState(log, 'idle');
    log.close();

    const tree = (await http.get<{ agents: AgentNodeJson[] }>('/agents')).body.agents;
    expect(tree.map((a) => a.path)).toEqual(['p']);
    expect(tree[0]!.children.map((c) => ({ path: c.path, goal: c.spec.goal }))).toEqual([{ path: 'p/kid', goal: 'count the gulls' }]);
    const result = toolResults(requestsOf(t, 'p')[1]!)[0];
    expect(result).toMatchObject({ tool_use_id: 'toolu_spawn', content: 'spawned p/kid' });
    expect(result).not.toHaveProperty('is_error');
    await t.fake.waitForRequests(3);
    const [childCall] = requestsOf(t, 'p/kid');
    expect(String(childCall!.body.system)).toContain('count the gulls');
  });

  it('returns a refusal (max_children 0) as an error tool_result, and the agent carries on', async () => {
    const next = await callTool('p', 'spawn_child', { id: 'kid', goal: 'g' }, { policy: { max_children: 0 } });
    const [result] = toolResults(next);
    expect(result).toMatchObject({ is_error: true, content: expect.stringContaining('max_children') });
    const node = (await http.get<AgentNodeJson>('/agents/p')).body;
    expect(node).toMatchObject({ state: 'idle', children: [] });
  });

  it('refuses a child naming an unknown tool as an error tool_result', async () => {
    const next = await callTool('p', 'spawn_child', { id: 'kid', goal: 'g', tools: ['teleport'] });
    expect(toolResults(next)[0]).toMatchObject({ is_error: true, content: expect.stringContaining('teleport') });
    expect((await http.get<AgentNodeJson>('/agents/p')).body.children).toEqual([]);
  });
});

describe('talking along the tree', () => {
  it('report_to_parent reaches the parent in its next request and wakes it', async () => {
    scriptByAgent(t, {
      p: [TEXT_OK, TEXT_OK],
      'p/c': [{ kind: 'tool_use', name: 'report_to_parent', input: { content: 'found 12 gulls' }, id: 'toolu_report' }, TEXT_OK],
    });
    await spawnAgent(http, null, 'p');
    const parentLog = await openLog(t, 'p');
    await nextState(parentLog, 'idle');
    await spawnAgent(http, 'p', 'c');
    await nextState(parentLog, 'running');
    await nextState(parentLog, 'idle');
    parentLog.close();
    const [, woken] = requestsOf(t, 'p');
    expect(lastUserBlocks(woken!)).toEqual([{ type: 'text', text: '[message from p/c on child] found 12 gulls' }]);
    const childResult = toolResults(requestsOf(t, 'p/c')[1]!)[0];
    expect(childResult).toMatchObject({ tool_use_id: 'toolu_report', content: 'reported to p' });
  });

  it('message_child reaches the child in its next request and wakes it; an unknown child is an error result', async () => {
    scriptByAgent(t, {
      p: [TEXT_OK, { kind: 'tool_uses', calls: [
        { name: 'message_child', input: { id: 'c', content: 'count the terns too' }, id: 'toolu_ok' },
        { name: 'message_child', input: { id: 'ghost', content: 'hello?' }, id: 'toolu_ghost' },
      ] }, TEXT_OK],
      'p/c': [TEXT_OK, TEXT_OK],
    });
    await spawnAgent(http, null, 'p');
    const parentLog = await openLog(t, 'p');
    await nextState(parentLog, 'idle');
    await spawnAgent(http, 'p', 'c');
    const childLog = await openLog(t, 'p/c');
    await nextState(childLog, 'idle');
    await http.post('/agents/p/message', { content: 'tell c about the terns' });
    await nextState(childLog, 'running');
    await nextState(childLog, 'idle');
    await nextState(parentLog, 'idle');
    childLog.close();
    parentLog.close();
    const [, woken] = requestsOf(t, 'p/c');
    expect(lastUserBlocks(woken!)).toEqual([{ type: 'text', text: '[message from p on parent] count the terns too' }]);
    expect(requestsOf(t, 'p')).toHaveLength(3);
    const results = toolResults(requestsOf(t, 'p')[2]!);
    expect(results[0]).toMatchObject({ tool_use_id: 'toolu_ok', content: 'delivered to p/c' });
    expect(results[1]).toMatchObject({ tool_use_id: 'toolu_ghost', is_error: true, content: expect.stringContaining('no child "ghost"') });
  });
});

describe('fetch_webpage', () => {
  let site: Server;
  let siteUrl: string;
  /** Requests to /slow, which never answers; `closed` turns true when the client gives up. */
  let slow: Array<{ closed: boolean }>;
  beforeEach(async () => {
    slow = [];
    site = createServer((req, res) => {
      if (req.url === '/slow') {
        const seen = { closed: false };
        slow.push(seen);
        res.on('close', () => (seen.closed = true));
        return;
      }
      if (req.url === '/to-metadata') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam' });
        res.end();
        return;
      }
      if (req.url === '/plain') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('just <b>text</b>');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><html><head><title>Tides</title><style>body { color: red }</style>'
        + '<script>var secret = "do not show";</script></head><body><h1>Tide tables</h1>'
        + '<p>High water at 06:12 &amp; 18:40.</p><p>Fish&nbsp;&lt;3 the bay</p></body></html>');
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  });
  afterEach(() => new Promise<void>((resolve) => {
    site.close(() => resolve());
    site.closeAllConnections();
  }));

  it("returns the page's text without markup, scripts or styles", async () => {
    const next = await callTool('a', 'fetch_webpage', { url: `${siteUrl}/tides` }, { spec: { tools: ['fetch_webpage'] } });
    const [result] = toolResults(next);
    expect(result).not.toHaveProperty('is_error');
    const text = String(result!.content);
    expect(text).toContain(`HTTP 200 ${siteUrl}/tides`);
    expect(text).toContain('Tide tables');
    expect(text).toContain('High water at 06:12 & 18:40.');
    expect(text).toContain('Fish <3 the bay');
    expect(text).not.toMatch(/<p>|<h1>|color: red|do not show/);
  });

  it('returns a non-HTML body as it is', async () => {
    const next = await callTool('a', 'fetch_webpage', { url: `${siteUrl}/plain` }, { spec: { tools: ['fetch_webpage'] } });
    expect(String(toolResults(next)[0]!.content)).toContain('just <b>text</b>');
  });

  it.each([
    ['a file URL', 'file:///etc/passwd', 'only http and https'],
    ['not a URL', 'tide tables', 'not a URL'],
  ])('answers %s with an error tool_result', async (_what, url, message) => {
    const next = await callTool('a', 'fetch_webpage', { url }, { spec: { tools: ['fetch_webpage'] } });
    expect(toolResults(next)[0]).toMatchObject({ is_error: true, content: expect.stringContaining(message) });
    expect((await http.get<AgentNodeJson>('/agents/a')).body.state).toBe('idle');
  });

  it('17.6: refuses a redirect from an allowed server to the metadata address, as an error tool_result', async () => {
    const next = await callTool('a', 'fetch_webpage', { url: `${siteUrl}/to-metadata` }, { spec: { tools: ['fetch_webpage'] } });
    expect(toolResults(next)[0]).toMatchObject({
      is_error: true, content: expect.stringMatching(/^refused: http:\/\/169\.254\.169\.254\/latest\/meta-data\/iam is a cloud metadata address/),
    });
    expect((await http.get<AgentNodeJson>('/agents/a')).body.state).toBe('idle');
  });

  it('is aborted by a suspend, and on resume the interrupted call is answered with an error result', async () => {
    scriptByAgent(t, { a: [{ kind: 'tool_use', name: 'fetch_webpage', input: { url: `${siteUrl}/slow` }, id: 'toolu_slow' }, TEXT_OK] });
    await spawnAgent(http, null, 'a', { spec: { tools: ['fetch_webpage'] } });
    await vi.waitFor(() => expect(slow).toHaveLength(1), { timeout: 2_000, interval: 5 });
    await http.post('/agents/a/suspend');
    await vi.waitFor(() => expect(slow[0]!.closed).toBe(true), { timeout: 1_000, interval: 5 });

    const log = await openLog(t, 'a');
    await http.post('/agents/a/resume');
    await nextState(log, 'idle');
    log.close();
    expect(log.events.some((e) => e.event === 'tool_result')).toBe(false);
    const resumed = requestsOf(t, 'a')[1]!;
    expectToolUsesAnswered(resumed);
    expect(toolResults(resumed)).toEqual([expect.objectContaining({ tool_use_id: 'toolu_slow', is_error: true })]);
  });

  it('is not available to an agent whose spec does not name it', async () => {
    const next = await callTool('a', 'fetch_webpage', { url: `${siteUrl}/tides` });
    expect(toolResults(next)[0]).toMatchObject({ is_error: true, content: expect.stringContaining('unknown tool fetch_webpage') });
  });
});

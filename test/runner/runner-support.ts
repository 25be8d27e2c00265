import { afterEach, expect, vi } from 'vitest';
import type { AgentRecord } from '../../src/domain/agent.js';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { api, startTestDaemon, type Api, type TestDaemon } from '../support/daemon.js';
import type { FakeReply, RecordedRequest } from '../support/fake-messages-api.js';
import { dataOf, openSse, type ParsedEvent, type SseConnection } from '../support/sse-client.js';

/** Registers the clean-up and returns `start(env)`: a fresh daemon (and its HTTP client) for the test, closed after it. */
export function daemonPerTest(): (env?: Record<string, string>) => Promise<{ t: TestDaemon; http: Api }> {
  let current: TestDaemon | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (env = {}) => {
    current = await startTestDaemon(env);
    return { t: current, http: api(current.url) };
  };
}

/** The agent a request to the fake Messages API was made for (the system prompt names its path); null for the judge. */
export function requestPath(req: RecordedRequest): string | null {
  if (isJudgeRequest(req)) return null;
  const system = typeof req.body.system === 'string' ? req.body.system : '';
  return /running at path "([^"]+)"/.exec(system)?.[1] ?? null;
}

/** The drift judge forces its tool; an agent's own calls never set tool_choice. */
export function isJudgeRequest(req: RecordedRequest): boolean {
  return req.body.tool_choice?.type === 'tool';
}

/** The agent's model requests, in order. */
export function requestsOf(t: TestDaemon, path: string): RecordedRequest[] {
  return t.fake.requests.filter((r) => requestPath(r) === path);
}

/** The content blocks of a request's last message (the user turn the model is asked to answer). */
export function lastUserBlocks(req: RecordedRequest): Array<Record<string, unknown>> {
  const last = req.body.messages.at(-1);
  expect(last?.role).toBe('user');
  const content = last!.content;
  return typeof content === 'string' ? [{ type: 'text', text: content }] : (content as unknown as Array<Record<string, unknown>>);
}

/** The text of a request's last user turn, text blocks joined. */
export function lastUserText(req: RecordedRequest): string {
  return lastUserBlocks(req).flatMap((b) => (b.type === 'text' ? [String(b.text)] : [])).join('\n');
}

/** Opens the agent's `/log` (its recent entries first, then live ones). */
export function openLog(t: TestDaemon, path: string): Promise<SseConnection> {
  return openSse(`${t.url}/agents/${path}/log`);
}

/** Waits on the stream for the agent to enter `to`. */
export function nextState(stream: SseConnection, to: string, timeoutMs = 5_000): Promise<ParsedEvent> {
  return stream.next((e) => e.event === 'state_change' && dataOf(e).to === to, timeoutMs);
}

/** Polls the daemon until the agent's node satisfies `check` (a short interval, a hard timeout). */
export function waitForNode(http: Api, path: string, check: (node: AgentNodeJson) => void, timeoutMs = 5_000): Promise<AgentNodeJson> {
  return vi.waitFor(async () => {
    const res = await http.get<AgentNodeJson>(`/agents/${path}`);
    expect(res.status).toBe(200);
    check(res.body);
    return res.body;
  }, { timeout: timeoutMs, interval: 10 });
}

/** The agent's in-memory record (its conversation is not part of the protocol). */
export function record(t: TestDaemon, path: string): AgentRecord {
  const agent = t.daemon.runtime.tree.find(path);
  if (!agent) throw new Error(`no agent ${path}`);
  return agent;
}

/** A reply the test releases by hand, to hold a model call in flight. */
export function gate(): { reply: Promise<FakeReply>; release: (reply: FakeReply) => void } {
  let release!: (reply: FakeReply) => void;
  const reply = new Promise<FakeReply>((resolve) => (release = resolve));
  return { reply, release };
}

export const TEXT_OK: FakeReply = { kind: 'text', text: 'done for now' };

/**
 * Scripts the fake per agent: each agent's requests take its replies in order; the judge, unknown agents and
 * agents past their script get `otherwise` (by default a call that hangs, as a model thinking).
 */
export function scriptByAgent(t: TestDaemon, scripts: Record<string, FakeReply[]>, otherwise: FakeReply = { kind: 'hang' }): void {
  const queues = new Map(Object.entries(scripts).map(([path, replies]) => [path, [...replies]]));
  t.fake.setHandler((req) => queues.get(requestPath(req) ?? '')?.shift() ?? otherwise);
}

/** The names of the tools a request offered the model. */
export function toolNames(req: RecordedRequest): string[] {
  return (req.body.tools ?? []).map((tool) => ('name' in tool ? String(tool.name) : `(${String(tool.type)})`));
}

/**
 * Fails unless the request keeps the Messages API's rule: every tool_use of an assistant turn is answered by a
 * tool_result in the next user turn, the results before any text.
 */
export function expectToolUsesAnswered(req: RecordedRequest): void {
  const messages = req.body.messages;
  messages.forEach((message, i) => {
    const next = messages[i + 1];
    if (message.role !== 'assistant' || typeof message.content === 'string' || !next) return;
    const ids = message.content.flatMap((b) => (b.type === 'tool_use' ? [b.id] : []));
    if (ids.length === 0) return;
    const blocks = typeof next.content === 'string' ? [] : next.content;
    const leading = blocks.slice(0, ids.length).map((b) => (b.type === 'tool_result' ? b.tool_use_id : `(${b.type})`));
    expect(leading, `the user turn after message ${i} must open with its tool results`).toEqual(ids);
  });
}

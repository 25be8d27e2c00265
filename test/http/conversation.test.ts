import { describe, expect, it } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { api, expectError, useTestDaemon } from '../support/daemon.js';

interface TranscriptJson {
  path: string;
  turns: Array<{ seq: number; kind: 'turn' | 'summary'; role: 'user' | 'assistant'; content: unknown }>;
  next: number | null;
}

const KEYS = ['root=admin-secret-0123456789:admin', 'team:team-a=team-a-secret-0123456'].join(',');
const ctx = useTestDaemon({ shared: true, env: { AUTON_API_KEYS: KEYS } });
const root = () => api(ctx.d.url, 'admin-secret-0123456789');
const team = () => api(ctx.d.url, 'team-a-secret-0123456');

/** Spawns `id` (a child of `parent`) with one tool call and a final answer, and waits until it is idle. */
async function spawnWorked(id: string, parent: string | null = null): Promise<string> {
  let calls = 0;
  ctx.d.fake.setHandler(() => (++calls === 1
    ? { kind: 'tool_use', name: 'list_children', input: { why: 'looking around' } }
    : { kind: 'text', text: `finished ${id}` }));
  const path = parent ? `${parent}/${id}` : id;
  expect((await root().post(parent ? `/agents/${parent}` : '/agents', { id, spec: { goal: `goal of ${id}`, tools: ['list_children'] } })).status).toBe(201);
  await expect.poll(async () => (await root().get<AgentNodeJson>(`/agents/${path}`)).body.state, { timeout: 10_000 }).toBe('idle');
  return path;
}

describe('GET /agents/{path}/conversation', () => {
  it('pages through every turn in full: text, tool calls with inputs, tool results, messages', async () => {
    await spawnWorked('w');
    const all = await root().get<TranscriptJson>('/agents/w/conversation');
    expect(all.status).toBe(200);
    expect(all.body.path).toBe('w');
    expect(all.body.turns.map((t) => [t.seq, t.kind, t.role])).toEqual([[0, 'turn', 'user'], [1, 'turn', 'assistant'], [2, 'turn', 'user'], [3, 'turn', 'assistant']]);
    expect(JSON.stringify(all.body.turns[1]!.content)).toContain('"input":{"why":"looking around"}');
    expect(JSON.stringify(all.body.turns[2]!.content)).toContain('tool_result');
    expect(JSON.stringify(all.body.turns[3]!.content)).toContain('finished w');
    expect(all.body.next).toBeNull();

    const first = await root().get<TranscriptJson>('/agents/w/conversation?limit=3');
    expect(first.body.turns.map((t) => t.seq)).toEqual([0, 1, 2]);
    expect(first.body.next).toBe(2);
    const rest = await root().get<TranscriptJson>(`/agents/w/conversation?limit=3&after=${first.body.next}`);
    expect(rest.body.turns.map((t) => t.seq)).toEqual([3]);
    const newest = await root().get<TranscriptJson>('/agents/w/conversation?order=desc&limit=2');
    expect(newest.body.turns.map((t) => t.seq)).toEqual([3, 2]);
    const older = await root().get<TranscriptJson>(`/agents/w/conversation?order=desc&limit=2&after=${newest.body.next}`);
    expect(older.body.turns.map((t) => t.seq)).toEqual([1, 0]);
  });

  it('the same for a checkpoint: the history up to it, after the agent went on', async () => {
    await spawnWorked('w2');
    expect((await root().post('/agents/w2/checkpoint')).status).toBe(201);
    ctx.d.fake.setHandler(() => ({ kind: 'text', text: 'later answer' }));
    expect((await root().post('/agents/w2/message', { content: 'one more thing' })).status).toBe(200);
    await expect.poll(async () => (await root().get<TranscriptJson>('/agents/w2/conversation')).body.turns.length, { timeout: 10_000 }).toBe(6);
    const latest = await root().get<TranscriptJson>('/agents/w2/conversation?order=desc&limit=2');
    expect(JSON.stringify(latest.body.turns[1]!.content)).toContain('one more thing');
    const atCheckpoint = await root().get<TranscriptJson>('/agents/w2/checkpoints/cp-1/conversation');
    expect(atCheckpoint.status).toBe(200);
    expect(atCheckpoint.body.turns.map((t) => t.seq)).toEqual([0, 1, 2, 3]);
    expectError(await root().get('/agents/w2/checkpoints/cp-9/conversation'), 404, /checkpoint cp-9/);
  });

  it('is scoped like every other read, and refuses a page over the limit with a 400', async () => {
    await spawnWorked('team-a');
    const nested = await spawnWorked('helper', 'team-a');
    expect((await team().get<TranscriptJson>(`/agents/${nested}/conversation`)).status).toBe(200);
    await spawnWorked('other');
    expect((await team().get('/agents/other/conversation')).status).toBe(404);
    expectError(await root().get('/agents/team-a/conversation?limit=201'), 400, /limit/);
    expectError(await root().get('/agents/team-a/conversation?order=sideways'), 400, /order/);
    expect((await root().get('/agents/ghost/conversation')).status).toBe(404);
  });
});

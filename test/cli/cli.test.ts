import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { spawnAgent, startTestDaemon, useTestDaemon } from '../support/daemon.js';
import { gate } from '../runner/runner-support.js';
import { buildCli, runCli, startCli } from '../support/run-cli.js';

// The CLI runs from dist/ as `npx auton` does (bin/auton.js); this builds it when src/ changed since (as npm start
// does). One test file only builds, so no two test processes write dist/ at once.
beforeAll(buildCli, 180_000);

const ctx = useTestDaemon({ shared: true, purgeAfterEach: true });
const auton = (...args: string[]) => runCli(args, { url: ctx.d.url });
afterEach(() => ctx.d.fake.setHandler(() => ({ kind: 'hang' })));

let dir: string;
beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'auton-cli-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('auton, the CLI, against a real daemon', () => {
  it('spawns from flags and draws the tree with states, tokens and the reason an agent stopped', async () => {
    const spawned = await auton('spawn', '--id', 'r', '--goal', 'watch arXiv', '--max-total-tokens', '5000');
    expect(spawned).toMatchObject({ code: 0, stderr: '' });
    expect(spawned.stdout).toBe('spawned r: running\n');
    expect((await auton('spawn', 'r', '--id', 'child', '--goal', 'summarise')).stdout).toBe('spawned r/child: running\n');
    expect((await auton('suspend', 'r/child', '--reason', 'budget_exceeded', '--detail', 'over 5000')).stdout).toBe('suspended r/child: suspended (budget_exceeded)\n');

    const ls = await auton('ls');
    expect(ls.code).toBe(0);
    const [root, child] = ls.stdout.trimEnd().split('\n');
    expect(root).toMatch(/^r\s+running\s+0 tok\s+\$0\.00\s+up \d+s$/);
    expect(child).toMatch(/^└─ child\s+suspended\s+0 tok\s+\$0\.00\s+up \d+s\s+budget_exceeded$/);
    expect((await ctx.http.get<AgentNodeJson>('/agents/r')).body.policy.budget.max_total_tokens).toBe(5000);
  });

  it('prints the API\'s own JSON with --json, for scripts', async () => {
    await spawnAgent(ctx.http, null, 'r');
    const ls = await auton('ls', '--json');
    expect(JSON.parse(ls.stdout)).toMatchObject({ total: 1, agents: [{ path: 'r', state: 'running' }] });
    const get = await auton('--json', 'get', 'r');
    expect(JSON.parse(get.stdout)).toMatchObject({ path: 'r', spec: { goal: 'goal of r' } });
    const suspended = await auton('suspend', 'r', '--json');
    expect(JSON.parse(suspended.stdout)).toMatchObject({ path: 'r', state: 'suspended', suspend_reason: 'manual' });
  });

  it('spawns from a YAML or a JSON file in the API\'s shape, flags on top', async () => {
    await writeFile(join(dir, 'agent.yaml'), 'id: from-yaml\nspec:\n  goal: read the news\n  model: claude-haiku-4-5\npolicy:\n  max_children: 2\n');
    await writeFile(join(dir, 'agent.json'), JSON.stringify({ id: 'from-json', spec: { goal: 'g' } }));
    expect((await auton('spawn', '-f', join(dir, 'agent.yaml'))).stdout).toBe('spawned from-yaml: running\n');
    expect((await auton('spawn', '-f', join(dir, 'agent.json'), '--id', 'renamed')).stdout).toBe('spawned renamed: running\n');
    const node = (await ctx.http.get<AgentNodeJson>('/agents/from-yaml')).body;
    expect(node.spec.model).toBe('claude-haiku-4-5');
    expect(node.policy.max_children).toBe(2);
  });

  it('prints the API\'s message and exits 1 when the API refuses', async () => {
    const res = await auton('suspend', 'nobody');
    expect(res).toEqual({ code: 1, stdout: '', stderr: 'auton: agent nobody not found\n' });
    await spawnAgent(ctx.http, null, 'r');
    expect(await auton('resume', 'r')).toMatchObject({ code: 1, stderr: 'auton: agent r is running; only a suspended agent can be resumed\n' });
    expect(await auton('spawn', '--id', 'x', '--goal', ' ')).toMatchObject({ code: 1, stderr: 'auton: spec.goal must not be empty\n' });
  });

  it('says in one line that the daemon cannot be reached, exit 3', async () => {
    const closed = await startTestDaemon();
    const url = closed.url;
    await closed.close();
    const res = await runCli(['ls'], { url });
    expect(res.code).toBe(3);
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe(`auton: cannot reach the daemon at ${url} (connection refused); start it with \`npm start\`, or point AUTON_URL or --url at it\n`);
  });

  it('refuses a spawn without a goal before asking the daemon (usage error, exit 2)', async () => {
    expect(await auton('spawn', '--id', 'x')).toMatchObject({ code: 2, stderr: expect.stringContaining('a spawn needs a goal') });
    expect((await auton('frobnicate')).code).toBe(2);
  });

  it('sends messages and guidance and saves checkpoints', async () => {
    await spawnAgent(ctx.http, null, 'r');
    expect((await auton('message', 'r', 'hello there')).stdout).toBe('delivered to r\n');
    expect((await auton('guide', 'r', 'focus on memory', '--reason', 'drifting')).stdout).toMatch(/^guided r: (running|correcting)\n$/);
    const checkpoint = await auton('checkpoint', 'r', '--label', 'before');
    expect(checkpoint.stdout).toMatch(/^checkpoint \S+ of r \(\d+ turns\)\n$/);
    expect((await auton('checkpoints', 'r')).stdout).toMatch(/ before\n$/);
  });

  it('forks, restarts, suspends and resumes', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await ctx.http.post('/agents/r/checkpoint');
    expect((await auton('fork', 'r', '--id', 'r2')).stdout).toBe('forked r2: running\n');
    expect((await auton('restart', 'r')).stdout).toMatch(/^restarted r: (running|spawning)\n$/);
    expect((await auton('suspend', 'r2')).code).toBe(0);
    expect((await auton('resume', 'r2', '--guidance', 'go on')).stdout).toBe('resumed r2: running\n');
  });

  it('runs oversight, kills and purges', async () => {
    await spawnAgent(ctx.http, null, 'r');
    expect(await auton('oversight')).toMatchObject({ code: 0, stdout: 'no findings\n' });
    expect((await auton('kill', 'r')).stdout).toBe('terminated r: dead\n');
    expect((await auton('kill', 'r', '--purge')).stdout).toBe('purged r: dead\n');
    expect((await ctx.http.get('/agents/r')).status).toBe(404);
  });

  it('prints the log and exits; with -f it follows new entries as they happen', async () => {
    await spawnAgent(ctx.http, null, 'r');
    const logs = await auton('logs', 'r');
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/^\d\d:\d\d:\d\d {2}spawned {9}goal: goal of r\n\d\d:\d\d:\d\d {2}state_change {4}spawning → running\n/);

    const follow = startCli(['logs', '-f', 'r'], { url: ctx.d.url });
    let out = '';
    follow.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    try {
      await expect.poll(() => out, { timeout: 15_000 }).toContain('spawned');
      await ctx.http.post('/agents/r/suspend', { reason: 'loop_detected', detail: 'same call 5 times' });
      await expect.poll(() => out, { timeout: 15_000 }).toMatch(/suspended {7}loop_detected: same call 5 times/);
    } finally {
      follow.kill();
    }
  });

  it('chat sends a message and prints the agent\'s reply, then exits once the agent is idle', async () => {
    await spawnAgent(ctx.http, null, 'r');
    ctx.d.fake.setHandler((req) => {
      const last = JSON.stringify(req.body.messages.at(-1));
      return { kind: 'text', text: last.includes('what is 2+2') ? 'It is 4.' : 'ready' };
    });
    await expect.poll(async () => (await ctx.http.get<AgentNodeJson>('/agents/r')).body.state).toBe('idle');
    const chat = await auton('chat', 'r', '-m', 'what is 2+2');
    expect(chat).toMatchObject({ code: 0, stderr: '' });
    expect(chat.stdout).toBe('r: It is 4.\n');

    const piped = await runCli(['chat', 'r'], { url: ctx.d.url, input: 'what is 2+2\n' });
    expect(piped).toMatchObject({ code: 0, stdout: 'r: It is 4.\n' });
  });

  it('chat prints a streamed reply as its text arrives, before the model has finished', async () => {
    const reply = 'Low tide is at six; the survey starts an hour before, on the north shore, and ends at the lighthouse.';
    await spawnAgent(ctx.http, null, 'r');
    ctx.d.fake.setHandler(() => ({ kind: 'text', text: 'ready' }));
    await expect.poll(async () => (await ctx.http.get<AgentNodeJson>('/agents/r')).body.state).toBe('idle');
    const rest = gate();
    ctx.d.fake.setHandler(() => ({ kind: 'text', text: reply, pacing: { chunkChars: 12, holdAfter: 3, hold: rest.reply } }));
    const chat = startCli(['chat', 'r', '-m', 'when is low tide?'], { url: ctx.d.url });
    let out = '';
    chat.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => chat.on('close', resolve));
    try {
      // Three deltas are out and the model is held mid-reply: they are on the terminal already.
      await expect.poll(() => out, { timeout: 15_000 }).toBe(`r: ${reply.slice(0, 36)}`);
      rest.release({ kind: 'empty' });
      expect(await exited).toBe(0);
      expect(out).toBe(`r: ${reply}\n`);
    } finally {
      chat.kill();
    }
  });

  it('transcript reads the whole conversation from the route, oldest first or newest first, in pages', async () => {
    await spawnAgent(ctx.http, null, 'r');
    ctx.d.fake.setHandler((req) => ({ kind: 'text', text: `answer ${req.body.messages.length}` }));
    await expect.poll(async () => (await ctx.http.get<AgentNodeJson>('/agents/r')).body.state).toBe('idle');
    for (const content of ['first question', 'second question']) {
      await ctx.http.post('/agents/r/message', { content });
      await expect.poll(async () => (await ctx.http.get<{ turns: unknown[] }>('/agents/r/conversation')).body.turns.length, { timeout: 10_000 })
        .toBe(content === 'first question' ? 4 : 6);
      await expect.poll(async () => (await ctx.http.get<AgentNodeJson>('/agents/r')).body.state).toBe('idle');
    }
    const all = await auton('transcript', 'r');
    expect(all).toMatchObject({ code: 0, stderr: '' });
    const heads = all.stdout.split('\n').filter((l) => /^#\d+ /.test(l));
    expect(heads.map((l) => l.split(' ')[1])).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
    expect(all.stdout).toContain('first question');
    expect(all.stdout).toMatch(/assistant\nanswer 5\n/);

    const json = await auton('transcript', 'r', '--json', '--newest', '-n', '3');
    const turns = JSON.parse(json.stdout) as Array<{ seq: number; kind: string; role: string }>;
    expect(turns.map((t) => t.role)).toEqual(['assistant', 'user', 'assistant']);
    expect(turns[0]!.seq).toBeGreaterThan(turns[1]!.seq);
    expect(turns.every((t) => t.kind === 'turn')).toBe(true);
    expect((await auton('transcript', 'nobody')).code).toBe(1);
  });

  it('watch draws the tree and redraws it when the tree changes', async () => {
    await spawnAgent(ctx.http, null, 'r');
    const watch = startCli(['watch'], { url: ctx.d.url });
    let out = '';
    watch.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    try {
      await expect.poll(() => out, { timeout: 15_000 }).toMatch(/^r\s+running/m);
      await spawnAgent(ctx.http, 'r', 'c');
      await expect.poll(() => out, { timeout: 15_000 }).toMatch(/^└─ c\s+running/m);
      await ctx.http.post('/agents/r/c/suspend', { reason: 'drift_detected' });
      await expect.poll(() => out, { timeout: 15_000 }).toMatch(/^└─ c\s+suspended.*drift_detected$/m);
    } finally {
      watch.kill();
    }
  });
});

describe('auton approvals, approve and deny', () => {
  it('lists the held calls of a subtree, and approves or denies one (with a note)', async () => {
    const call = (id: string) => ({ kind: 'tool_use' as const, name: 'list_children', input: {}, id });
    let n = 0;
    ctx.d.fake.setHandler(() => (++n <= 2 ? call(`toolu_cli_${n}`) : { kind: 'hang' }));
    await spawnAgent(ctx.http, null, 'r', { policy: { approvals: [{ tool: 'list_children', decision: 'ask' }] } });
    const pending = async () => vi.waitFor(async () => {
      const res = await auton('approvals', 'r');
      expect(res.stdout).toMatch(/^ap-[0-9a-f]+ {2}r {2}list_children \{\} {2}expires \S+ \(then deny\)\n$/);
      return res.stdout.split(' ')[0]!;
    }, { timeout: 5_000, interval: 50 });
    const first = await pending();
    expect(await auton('approve', 'r', first, '--note', 'ok')).toMatchObject({ code: 0, stdout: `${first} allowed: list_children of r\n` });
    const second = await pending();
    expect(second).not.toBe(first);
    expect(await auton('deny', 'r', second)).toMatchObject({ code: 0, stdout: `${second} denied: list_children of r\n` });
    const again = await auton('deny', 'r', second);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already denied/);
    expect((await auton('approvals')).stdout).toBe('no pending approvals\n');
  });
});

describe('auton with API keys', () => {
  const KEY = 'cli-key-0123456789abcdef';
  const keyed = useTestDaemon({ shared: true, env: { AUTON_API_KEYS: `ops=${KEY}` } });

  it('sends AUTON_API_KEY (or --api-key) as the bearer token, and prints the 401 without one', async () => {
    const without = await runCli(['ls'], { url: keyed.d.url });
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/^auton: .+\n$/);
    expect(await runCli(['ls'], { url: keyed.d.url, env: { AUTON_API_KEY: KEY } })).toMatchObject({ code: 0 });
    expect(await runCli(['ls', '--api-key', KEY], { url: keyed.d.url })).toMatchObject({ code: 0 });
  });

  it('acts on a whole subtree with --subtree (children first for suspend), and oversight --dry-run says what it would do', async () => {
    await spawnAgent(ctx.http, null, 'r', { policy: { budget: { max_runtime_seconds: 1_000 } } });
    await spawnAgent(ctx.http, 'r', 'a');
    expect((await auton('suspend', 'r', '--subtree')).stdout).toBe('suspended r/a: suspended (manual)\nsuspended r: suspended (manual)\n');
    expect((await auton('resume', 'r', '--subtree')).stdout).toMatch(/^resumed r: \w+\nresumed r\/a: \w+\n$/);
    const cut = await auton('checkpoint', 'r', '--subtree');
    expect(cut.stdout).toMatch(/^cut cut-\w+\ncheckpoint cp-1 of r \(\d+ turns\)\ncheckpoint cp-1 of r\/a \(\d+ turns\)\n$/);
    expect((await auton('fork', 'r', '--subtree', '--id', 'r2')).stdout).toMatch(/^forked r2: \w+\nforked r2\/a: \w+\n$/);
    const dry = await auton('oversight', '--dry-run', 'r');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^r {2}nothing to do {2}context \S+ {2}cache hits \S+\nr\/a {2}nothing to do/);
  });
});

describe('the daemon, started as npm start does', () => {
  const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

  it('a second daemon on a busy port says so in one line and exits non-zero, without a stack trace', async () => {
    const port = new URL(ctx.d.url).port;
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [MAIN], {
        env: { ...process.env, AUTON_PORT: port, AUTON_HOST: '127.0.0.1', AUTON_DB: join(dir, 'second.db'), AUTON_API_KEYS: '', ANTHROPIC_API_KEY: '' },
      }, (error, stdout, stderr) => resolve({ code: error ? (error as { code?: number }).code ?? null : 0, stdout, stderr }));
    });
    expect(result.stderr).toBe(`auton: port ${port} is already in use (another daemon?); set AUTON_PORT\n`);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
  });
});

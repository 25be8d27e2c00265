import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { loadConfig } from '../../src/config.js';
import { startDaemon } from '../../src/daemon.js';
import { McpPool } from '../../src/mcp/pool.js';
import { startFakeMessagesApi } from '../../test/support/fake-messages-api.js';
import type { BenchBase } from '../context.js';
import { startDaemonProcess, ROOT } from '../processes.js';
import { fmt, type Row } from '../table.js';

/** Calls timed per side of figure 9 (after WARM_CALLS untimed ones). */
const CALLS = 400;
const WARM_CALLS = 50;
/** Figure 10: loops sending at once, and how long each side is measured. */
const LOOPS = 16;
const WINDOW_MS = 3_000;
const WARMUP_MS = 500;

const testServer = { command: process.execPath, args: ['--import', 'tsx', join(ROOT, 'test/support/mcp-test-server.ts')], cwd: ROOT };

/**
 * Figure 9: what one MCP tool call (stdio, the test server's trivial `echo`) adds to an agent's step in the daemon
 * (a step calling it minus a step calling the built-in list_children), beside the same call made by the SDK's
 * client alone. Also shown: the tool_call → tool_result interval in the agent's loop (it includes whatever the
 * event loop runs meanwhile, such as the step's group commit) and the daemon's MCP pool alone. The daemon runs in
 * this process, its model the fake answering every turn with the same tool call at once.
 */
export async function mcpCallFigure(ctx: BenchBase): Promise<Row[]> {
  const alone = await sdkAlone();
  const poolMs = await poolAlone();
  const daemon = await throughDaemon(ctx.workDir);
  const added = daemon.stepMs - daemon.builtinStepMs;
  return [{
    figure: 'MCP tool call through the daemon (stdio, trivial tool): an agent step calling it minus a step calling list_children, 400 steps in a row',
    auton: `${fmt.ms(added)} added per step (step ${fmt.ms(daemon.stepMs)} vs ${fmt.ms(daemon.builtinStepMs)}; tool_call → tool_result ${fmt.ms(daemon.callMs)}; the daemon's pool alone ${fmt.ms(poolMs)})`,
    ceiling: `the SDK client alone, same server and call: ${fmt.ms(alone)}`,
    ratio: fmt.ratio(added / alone),
    goal: '(shown)',
    met: null,
  }];
}

/** The daemon's own MCP path (McpPool → McpConnection → the SDK client), without an agent loop around it. */
async function poolAlone(): Promise<number> {
  const pool = new McpPool({ b: { ...testServer, env: {} } }, { callTimeoutMs: 60_000, startTimeoutMs: 30_000, restartBackoffMs: 1_000, log: () => {}, clock: Date.now });
  try {
    const connection = pool.get('b')!;
    const call = () => connection.call('echo', { text: 'x' }, new AbortController().signal);
    for (let i = 0; i < WARM_CALLS; i++) await call();
    const started = performance.now();
    for (let i = 0; i < CALLS; i++) await call();
    return (performance.now() - started) / CALLS;
  } finally {
    await pool.close();
  }
}

async function sdkAlone(): Promise<number> {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StdioClientTransport({ ...testServer, stderr: 'ignore' }));
  try {
    for (let i = 0; i < WARM_CALLS; i++) await client.callTool({ name: 'echo', arguments: { text: 'x' } });
    const started = performance.now();
    for (let i = 0; i < CALLS; i++) await client.callTool({ name: 'echo', arguments: { text: 'x' } });
    return (performance.now() - started) / CALLS;
  } finally {
    await client.close();
  }
}

interface DaemonTimes { callMs: number; stepMs: number; builtinStepMs: number }

/**
 * Through the daemon: the mean tool_call → tool_result interval of an agent calling `mcp__b__echo`, and the mean
 * time of a whole step (model call, tool call, commit) beside the same loop calling the built-in `list_children`:
 * the difference between the two steps is what an MCP call adds to an agent's turn.
 */
async function throughDaemon(workDir: string): Promise<DaemonTimes> {
  const configFile = join(workDir, 'mcp-bench.json');
  writeFileSync(configFile, JSON.stringify({ mcpServers: { b: testServer } }));
  const fake = await startFakeMessagesApi();
  const daemon = await startDaemon(loadConfig({
    AUTON_HOST: '127.0.0.1', AUTON_PORT: '0', AUTON_DB: join(workDir, 'mcp-bench.db'), ANTHROPIC_API_KEY: 'fake', ANTHROPIC_BASE_URL: fake.url,
    AUTON_MCP_CONFIG: configFile, AUTON_MAX_TURN_STEPS: String(CALLS + WARM_CALLS), AUTON_JUDGE_EVERY_TURNS: '0',
    AUTON_RATE_LIMIT_PER_MINUTE: '0',
  }), { logger: false });
  /** Runs one agent whose every turn is the same call of `tool` until its step cap; the timings of its calls. */
  const run = async (id: string, tool: string, input: Record<string, unknown>) => {
    fake.setHandler(() => ({ kind: 'tool_use', name: tool, input }));
    const calls: number[] = [];
    const intervals: number[] = [];
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const stop = daemon.runtime.bus.subscribe(id, {
      scope: 'self',
      deliver: (event) => {
        if (event.type === 'tool_call') calls.push(performance.now());
        else if (event.type === 'tool_result') intervals.push(performance.now() - calls.at(-1)!);
        else if (event.type === 'state_change' && event.data.to === 'idle') done();
      },
    });
    // Repeating one call would trip loop detection: here it is a tool that may repeat.
    const res = await fetch(`${daemon.url}/agents`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, spec: { goal: 'repeat', tools: ['mcp__b'] }, policy: { repeatable_tools: [tool] } }),
    });
    if (res.status !== 201) throw new Error(`spawn: ${res.status} ${await res.text()}`);
    await finished;
    stop();
    const timed = intervals.slice(WARM_CALLS);
    const steps = calls.slice(WARM_CALLS);
    return { callMs: timed.reduce((a, b) => a + b, 0) / timed.length, stepMs: (steps.at(-1)! - steps[0]!) / (steps.length - 1) };
  };
  try {
    const mcp = await run('mcp', 'mcp__b__echo', { text: 'x' });
    const builtin = await run('builtin', 'list_children', {});
    return { callMs: mcp.callMs, stepMs: mcp.stepMs, builtinStepMs: builtin.stepMs };
  } finally {
    await daemon.close();
    await fake.close();
  }
}

/**
 * Figure 10: `/mcp` tool calls per second (`get_agent` on one agent, JSON-RPC posted on an open session, 16 loops
 * of fetch) beside `GET /agents/{path}` driven the same way against the same daemon (a child process).
 */
export async function mcpServerFigure(ctx: BenchBase): Promise<Row[]> {
  const daemon = await startDaemonProcess({ db: join(ctx.workDir, 'mcp-server.db'), fakeUrl: ctx.fake.url });
  try {
    const spawned = await fetch(`${daemon.url}/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'a', spec: { goal: 'g' } }) });
    if (spawned.status !== 201) throw new Error(`spawn: ${spawned.status}`);
    const client = new Client({ name: 'bench', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(`${daemon.url}/mcp`));
    await client.connect(transport);
    const headers = {
      'content-type': 'application/json', accept: 'application/json, text/event-stream',
      'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': transport.protocolVersion ?? '2025-06-18',
    };
    let id = 0;
    const mcpRate = await loops(async () => {
      const res = await fetch(`${daemon.url}/mcp`, {
        method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name: 'get_agent', arguments: { path: 'a' } } }),
      });
      const text = await res.text();
      if (res.status !== 200 || text.includes('"isError":true')) throw new Error(`/mcp: ${res.status} ${text.slice(0, 200)}`);
    });
    await client.close();
    const httpRate = await loops(async () => {
      const res = await fetch(`${daemon.url}/agents/a`);
      await res.text();
      if (res.status !== 200) throw new Error(`GET: ${res.status}`);
    });
    return [{
      figure: `/mcp tools/call get_agent per second (${LOOPS} fetch loops, one session)`,
      auton: `${Math.round(mcpRate).toLocaleString('en-US')} calls/s`,
      ceiling: `GET /agents/{path}, same loops and daemon: ${fmt.rps(httpRate)}`,
      ratio: fmt.ratio(mcpRate / httpRate),
      goal: '(shown)',
      met: null,
    }];
  } finally {
    await daemon.stop();
  }
}

/** Runs `once` in LOOPS concurrent loops; calls per second over the window after the warm-up. */
async function loops(once: () => Promise<void>): Promise<number> {
  let running = true;
  let counting = false;
  let count = 0;
  const all = Array.from({ length: LOOPS }, async () => {
    while (running) {
      await once();
      if (counting) count++;
    }
  });
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  counting = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  counting = false;
  const seconds = (performance.now() - started) / 1000;
  running = false;
  await Promise.all(all);
  return count / seconds;
}

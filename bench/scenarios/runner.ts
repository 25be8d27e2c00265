import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { turnJson } from '../../src/domain/agent.js';
import { policySchema, specSchema } from '../../src/domain/schemas.js';
import { EventBus } from '../../src/events/bus.js';
import { START_TEXT } from '../../src/runner/prompt.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { BenchBase } from '../context.js';
import { cannon, cpuSeconds } from '../load.js';
import { startDaemonProcess, startScript } from '../processes.js';
import type { ClientResult } from './client-child.js';
import { fmt, type Row } from '../table.js';

const AGENTS = 1_000;
const LATENCY_MS = 50;
const WARMUP_MS = 2_000;
const WINDOW_MS = 8_000;

/**
 * Figure 7: model calls per second with 1,000 agents working at once against a fake that answers after 50 ms
 * with a `list_children` tool call, so each agent calls again at once (up to AUTON_MAX_TURN_STEPS). Runs on a
 * daemon of its own, started on a store where 1,000 running agents each wait for an answer to their first
 * turn, so all of them call the model as soon as it is up. Ideal: agents ÷ latency, or the fake's own ceiling
 * when lower (measured with autocannon, 1,000 connections, posting a body the daemon really sent).
 */
export async function runnerFigure(ctx: BenchBase): Promise<Row[]> {
  const { fake } = ctx;
  await fake.configure('tool-loop', LATENCY_MS);
  const db = join(ctx.workDir, 'runner.db');
  await buildWorkersDb(db);
  const daemon = await startDaemonProcess({ db, fakeUrl: fake.url, env: { AUTON_MAX_TURN_STEPS: '1000' } });
  let rate: number;
  let cpuUsPerCall: number | null;
  let body: string;
  try {
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const before = await fake.count();
    const cpuBefore = cpuSeconds(daemon.pid);
    const started = Date.now();
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const after = await fake.count();
    const cpuAfter = cpuSeconds(daemon.pid);
    rate = (after - before) / ((Date.now() - started) / 1000);
    cpuUsPerCall = cpuBefore === null || cpuAfter === null ? null : ((cpuAfter - cpuBefore) * 1e6) / (after - before);
    body = await fake.lastBody();
  } finally {
    await daemon.stop();
  }

  const bodyFile = join(ctx.workDir, 'runner-body.json');
  writeFileSync(bodyFile, body);
  const clientChild = await startScript<ClientResult>('bench/scenarios/client-child.ts', [fake.url, bodyFile, String(AGENTS), String(WARMUP_MS), String(WINDOW_MS)]);
  const client = clientChild.ready;
  await clientChild.stop();
  const clientRate = client.calls / client.seconds;

  const fakeAlone = await cannon({
    url: `${fake.url}/v1/messages`, connections: AGENTS, durationSeconds: 5, method: 'POST', body,
    headers: { 'content-type': 'application/json', 'x-api-key': 'fake', 'anthropic-version': '2023-06-01' },
  });
  await fake.configure('text', 0);
  const ideal = Math.min(AGENTS / (LATENCY_MS / 1000), fakeAlone.rps);
  const ratio = rate / ideal;
  return [{
    figure: `runner: model calls/s, ${AGENTS.toLocaleString('en-US')} active agents, fake at ${LATENCY_MS} ms (bodies ≈ ${fmt.kib(Buffer.byteLength(body))})`,
    auton: `${Math.round(rate).toLocaleString('en-US')} calls/s${cpuUsPerCall === null ? '' : `, ${Math.round(cpuUsPerCall)} µs daemon CPU/call`}`,
    ceiling: `ideal ${Math.round(AGENTS / (LATENCY_MS / 1000)).toLocaleString('en-US')} calls/s (agents ÷ latency); fake alone ${fmt.rps(fakeAlone.rps)} (p99 ${fakeAlone.p99} ms)`,
    ratio: fmt.ratio(ratio),
    goal: '≥ 0.90 of min(ideal, fake)',
    met: ratio >= 0.9,
  }, {
    figure: 'the model client alone: the same SDK client and fetch, same bodies, same 1,000 loops, no runtime (a process of its own)',
    auton: `${Math.round(clientRate).toLocaleString('en-US')} calls/s, ${Math.round(client.cpuUs / client.calls)} µs CPU/call${client.errors ? `, ${client.errors} failed (${client.firstError})` : ''}`,
    ceiling: `fake alone ${fmt.rps(fakeAlone.rps)}`,
    ratio: fmt.ratio(clientRate / ideal),
    goal: '(shown)',
    met: null,
  }];
}

/** Running agents whose conversation is one unanswered user turn: a restarted daemon resumes each at once. */
async function buildWorkersDb(file: string): Promise<void> {
  const store = new SqliteStore(file, { eventsRetained: 1_000_000, eventsLoadedAtStart: 50_000 });
  const bus = new EventBus();
  bus.addSink((event) => store.appendEvent(event));
  const runtime = new Runtime({ bus, store, maxAgents: 1_000_000 });
  for (let i = 0; i < AGENTS; i++) {
    const agent = runtime.spawn(null, {
      id: `worker-${i}`,
      spec: specSchema.parse({ goal: `Keep an eye on your children (worker ${i})`, model: 'claude-haiku-4-5' }),
      policy: policySchema.parse({ repeatable_tools: ['list_children'] }),
    });
    agent.conversation.push(turnJson({ role: 'user', content: [{ type: 'text', text: START_TEXT }] }));
  }
  await store.flush();
  store.close();
}

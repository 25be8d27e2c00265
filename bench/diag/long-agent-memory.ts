import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUMMARISER_SYSTEM } from '../../src/context/compaction.js';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { startFakeMessagesApi, type FakeReply } from '../../test/support/fake-messages-api.js';
import { expectJson } from '../load.js';
import { startDaemonProcess } from '../processes.js';

/**
 * Diagnostics for figure 9b (not a figure): figure 9's agent, with the daemon's memory taken apart every `every`
 * calls: RSS as /proc/<pid>/smaps splits it (the brk heap, where SQLite's page cache lives; V8's pages, mapped low;
 * other threads' malloc arenas, mapped high) and V8's spaces from /metrics. With BENCH_FULL_GC=1 (and the daemon
 * started with BENCH_NODE_FLAGS="--expose-gc --import ./bench/diag/gc-on-signal.mjs" BENCH_DAEMON_OUT=<file>) it
 * also asks for a full GC after each sample, to see the live heap. `npx tsx bench/diag/long-agent-memory.ts 1000 100`
 */
const CALLS = Number(process.argv[2] ?? 1_000);
const EVERY = Number(process.argv[3] ?? 100);
const PAGE_CHARS = 19_990;

const site = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(`${req.url} `.repeat(Math.ceil(PAGE_CHARS / ((req.url ?? '').length + 1))).slice(0, PAGE_CHARS));
});
await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
const siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
const fake = await startFakeMessagesApi({ contextWindow: 200_000, estimateUsage: true });
let calls = 0;
fake.setHandler((req): FakeReply => {
  fake.requests.length = 0;
  if (req.body.system === SUMMARISER_SYSTEM) return { kind: 'text', text: `I have read pages 1 to ${calls}; each lists tide times.` };
  calls += 1;
  return { kind: 'tool_use', name: 'fetch_webpage', input: { url: `${siteUrl}/page-${calls}` } };
});
const daemon = await startDaemonProcess({
  db: join(mkdtempSync(join(tmpdir(), 'auton-9b-')), 'long-agent.db'), fakeUrl: fake.url,
  env: { AUTON_MAX_TURN_STEPS: '1000', AUTON_FETCH_ALLOW: '127.0.0.1' },
});
const mib = (bytes: number) => (bytes / 1048576).toFixed(1);

/** Resident KiB by kind of mapping. */
function smaps(): { rss: number; brk: number; v8: number; high: number } {
  const out = { rss: 0, brk: 0, v8: 0, high: 0 };
  let name = '';
  let start = 0;
  for (const line of readFileSync(`/proc/${daemon.pid}/smaps`, 'utf8').split('\n')) {
    const map = /^([0-9a-f]+)-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (map) {
      start = parseInt(map[1]!, 16);
      name = map[2]!;
    } else if (line.startsWith('Rss:')) {
      const kib = Number(line.split(/\s+/)[1]);
      out.rss += kib;
      if (name === '[heap]') out.brk += kib;
      else if (name === '') out[start >= 0x7f0000000000 ? 'high' : 'v8'] += kib;
    }
  }
  return out;
}

async function spaces(): Promise<string> {
  const text = await (await fetch(`${daemon.url}/metrics`)).text();
  const get = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return `heap used ${mib(get('nodejs_heap_size_used_bytes'))} of ${mib(get('nodejs_heap_size_total_bytes'))}, `
    + `old ${mib(get('nodejs_heap_space_size_total_bytes\\{space="old"\\}'))}, `
    + `large objects ${mib(get('nodejs_heap_space_size_total_bytes\\{space="large_object"\\}'))}, `
    + `new ${mib(get('nodejs_heap_space_size_total_bytes\\{space="new"\\}'))}`;
}

try {
  await expectJson(`${daemon.url}/agents`, 201, { method: 'POST', body: { id: 'reader', spec: { goal: 'Read every page of the tide tables', tools: ['fetch_webpage'] } } });
  let next = EVERY;
  const deadline = Date.now() + 30 * 60_000;
  while (calls < CALLS && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const node = await expectJson<AgentNodeJson>(`${daemon.url}/agents/reader`, 200);
    if (node.state === 'suspended' || node.state === 'dead') throw new Error(`the agent is ${node.state}: ${node.error_message ?? ''}`);
    if (node.state === 'idle') await expectJson(`${daemon.url}/agents/reader/message`, 200, { method: 'POST', body: { content: 'carry on' } });
    if (calls < next) continue;
    const m = smaps();
    console.log(`${calls}: RSS ${mib(m.rss * 1024)} MiB (brk heap ${mib(m.brk * 1024)}, V8 and other low anon ${mib(m.v8 * 1024)}, high anon ${mib(m.high * 1024)}); ${await spaces()} MiB`);
    if (process.env.BENCH_FULL_GC) {
      process.kill(daemon.pid, 'SIGUSR2');
      await new Promise((r) => setTimeout(r, 200));
    }
    next += EVERY;
  }
} finally {
  await daemon.stop();
  await fake.close();
  site.close();
}

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SUMMARISER_SYSTEM } from '../../src/context/compaction.js';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { startFakeMessagesApi, type FakeReply, type RecordedRequest } from '../../test/support/fake-messages-api.js';
import { blocksOf } from '../../test/support/fake-prompt-rules.js';
import type { BenchBase } from '../context.js';
import { expectJson } from '../load.js';
import { startDaemonProcess } from '../processes.js';
import { fmt, type Row } from '../table.js';

const CALLS = 1_000;
const EARLY_CALLS = 100;
/** Each page is ~20,000 characters: about 5,000 tokens as the fake counts. */
const PAGE_CHARS = 19_990;

/**
 * Figure 9 (issue 12): one agent, 1,000 model calls each adding a ~5,000-token tool result, against the fake with a
 * 200,000-token window and prompt caching. Billed input cost (input + 1.25 × 5m writes + 2 × 1h writes + 0.1 × reads,
 * compaction calls included) beside what ideal caching of the same requests would bill (every prefix an earlier
 * request sent read at 0.1, the rest written at 1.25 where a later request reads it and paid at 1 where none does)
 * and the uncached cost. 9b: the daemon's RSS after the 1,000 calls against after 100.
 */
export async function longAgentFigures(base: BenchBase): Promise<Row[]> {
  const site = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${req.url} `.repeat(Math.ceil(PAGE_CHARS / ((req.url ?? '').length + 1))).slice(0, PAGE_CHARS));
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  const siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  // Every request billed by the fake's token count, compaction calls (which carry no breakpoints) included.
  const fake = await startFakeMessagesApi({ contextWindow: 200_000, estimateUsage: true });
  const ideal = new IdealCache();
  let calls = 0;
  fake.setHandler((req: RecordedRequest): FakeReply => {
    ideal.add(req);
    fake.requests.length = 0; // the bench keeps prefix hashes, not 1,000 request bodies
    if (req.body.system === SUMMARISER_SYSTEM) return { kind: 'text', text: `I have read pages 1 to ${calls}; each lists tide times.` };
    calls += 1;
    return { kind: 'tool_use', name: 'fetch_webpage', input: { url: `${siteUrl}/page-${calls}` } };
  });
  const daemon = await startDaemonProcess({
    db: join(base.workDir, 'long-agent.db'), fakeUrl: fake.url,
    env: { AUTON_MAX_TURN_STEPS: '1000', AUTON_FETCH_ALLOW: '127.0.0.1' },
  });
  try {
    await expectJson(`${daemon.url}/agents`, 201, { method: 'POST', body: { id: 'reader', spec: { goal: 'Read every page of the tide tables', tools: ['fetch_webpage'] } } });
    const node = () => expectJson<AgentNodeJson>(`${daemon.url}/agents/reader`, 200);
    let rssEarly = 0;
    const samples: string[] = [];
    let nextSample = EARLY_CALLS;
    let last: AgentNodeJson = await node();
    const deadline = Date.now() + 30 * 60_000;
    while (calls < CALLS && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      last = await node();
      if (last.state === 'suspended' || last.state === 'dead') break;
      if (last.state === 'idle') await expectJson(`${daemon.url}/agents/reader/message`, 200, { method: 'POST', body: { content: 'carry on' } });
      if (calls >= nextSample) {
        const rss = rssOf(daemon.pid);
        if (rssEarly === 0) rssEarly = rss;
        samples.push(`${calls}: ${fmt.mib(rss)} (heap used ${fmt.mib(await heapUsedOf(daemon.url))})`);
        nextSample += 150;
      }
    }
    const rssLate = rssOf(daemon.pid);
    last = await node();
    const h = last.health;
    const billed = h.input_tokens! + 1.25 * h.cache_write_5m_tokens! + 2 * h.cache_write_1h_tokens! + 0.1 * h.cache_read_tokens!;
    const uncached = h.input_tokens! + h.cache_write_5m_tokens! + h.cache_write_1h_tokens! + h.cache_read_tokens!;
    const best = ideal.cost();
    const ok = last.state !== 'suspended' && calls >= CALLS;
    const rssRatio = rssLate / rssEarly;
    return [
      {
        figure: `${calls} calls of ~5,000-token tool results (200k window): input cost billed, in input-token units${ok ? '' : ` (state ${last.state}: ${last.error_message ?? ''})`}`,
        auton: `${(billed / 1e6).toFixed(2)} M (uncached ${(uncached / 1e6).toFixed(2)} M, ${h.cache_read_tokens! > 0 ? 'cached' : 'NO CACHE'})`,
        ceiling: `${(best / 1e6).toFixed(2)} M ideal caching`,
        ratio: fmt.ratio(billed / best), goal: '≤ 1.2, never failing', met: ok && billed / best <= 1.2,
      },
      {
        figure: `daemon RSS after ${calls} calls vs after ${EARLY_CALLS} (by calls: ${samples.join(', ')})`,
        auton: fmt.mib(rssLate), ceiling: fmt.mib(rssEarly), ratio: fmt.ratio(rssRatio), goal: '≤ 1.10', met: rssRatio <= 1.1,
      },
    ];
  } finally {
    await daemon.stop();
    await fake.close();
    site.close();
  }
}

/** The daemon's V8 heap in use, from its own /metrics (prom-client's default metrics): RSS beside it tells a leak from headroom. */
async function heapUsedOf(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? 0);
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** The requests as prefix hashes (one per content block) and token counts, to price ideal caching at the end. */
class IdealCache {
  private readonly requests: Array<{ hashes: string[]; cum: number[] }> = [];

  add(req: RecordedRequest): void {
    const blocks = blocksOf(req.raw);
    let total = 0;
    this.requests.push({ hashes: blocks.map((b) => b.hash), cum: blocks.map((b) => (total += b.tokens)) });
  }

  cost(): number {
    const seen = new Set<string>();
    const later = new Map<string, number>();
    this.requests.forEach((r, i) => r.hashes.forEach((h) => later.set(h, i)));
    let cost = 0;
    this.requests.forEach((r, i) => {
      let shared = -1;
      let reused = -1;
      r.hashes.forEach((h, p) => {
        if (seen.has(h)) shared = p;
        if ((later.get(h) ?? -1) > i) reused = p;
      });
      const total = r.cum.at(-1) ?? 0;
      const read = shared >= 0 ? r.cum[shared]! : 0;
      const written = reused > shared ? r.cum[reused]! - read : 0;
      cost += 0.1 * read + 1.25 * written + (total - read - written);
      r.hashes.forEach((h) => seen.add(h));
    });
    return cost;
  }
}

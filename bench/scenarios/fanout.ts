import { get, type ClientRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { BenchContext } from '../context.js';
import { http, percentile } from '../load.js';
import { fmt, type Row } from '../table.js';
import { LEAF, OBSERVED } from '../tree-fixture.js';

const CLIENTS = 1_000;
const OPERATIONS = 30;
const EVENT_TIMEOUT_MS = 5_000;
/** After each resume: time for its own fan-out (and the runner settling the agent) to finish before the next suspend. */
const SETTLE_MS = 200;

/**
 * Figure 4: SSE fan-out. 1,000 raw node:http clients observe one subtree; each operation is a suspend of a leaf
 * in it, tagged by its `detail`, and what is measured is when the `suspended` event reached each client, from
 * the moment the operation's HTTP answer had arrived (and from when it was sent). Between two operations the
 * leaf is resumed. The ceiling is bare node:http writing the same two frames to the same 1,000 sockets.
 * Also shown: how long the suspend itself took to answer, since the daemon writes the frames before it answers.
 */
export async function fanoutFigure(ctx: BenchContext): Promise<Row[]> {
  const auton = await measure(ctx.daemonUrl);
  const bare = await measure(ctx.ceilings.httpUrl);
  const p99 = percentile(auton.afterResponse, 99);
  return [{
    figure: `SSE fan-out: event at each of ${CLIENTS.toLocaleString('en-US')} /observe clients after the HTTP answer (${OPERATIONS} suspends)`,
    auton: `p99 ${fmt.ms(p99)}; from request p50 ${fmt.ms(percentile(auton.afterRequest, 50))}, p99 ${fmt.ms(percentile(auton.afterRequest, 99))}; suspend answered p99 ${fmt.ms(percentile(auton.answerMs, 99))}`,
    ceiling: `node:http p99 ${fmt.ms(percentile(bare.afterResponse, 99))}; from request p99 ${fmt.ms(percentile(bare.afterRequest, 99))}; answered p99 ${fmt.ms(percentile(bare.answerMs, 99))}`,
    ratio: fmt.times(percentile(auton.afterRequest, 99) / percentile(bare.afterRequest, 99)),
    goal: 'p99 < 50 ms',
    met: p99 < 50,
  }];
}

interface Samples {
  /** Event arrival minus answer arrival, per client and operation (0 when the event came first). */
  afterResponse: number[];
  afterRequest: number[];
  /** How long each suspend took to answer. */
  answerMs: number[];
}

async function measure(base: string): Promise<Samples> {
  const arrivals = new Map<number, number[]>();
  let onArrival: (() => void) | null = null;
  const clients: ClientRequest[] = [];
  for (let batch = 0; batch < CLIENTS; batch += 100) {
    const opened = Array.from({ length: Math.min(100, CLIENTS - batch) }, () => openClient(`${base}/agents/${OBSERVED}/observe`, (op, at) => {
      let list = arrivals.get(op);
      if (!list) arrivals.set(op, (list = []));
      list.push(at);
      if (list.length === CLIENTS) onArrival?.();
    }));
    clients.push(...(await Promise.all(opened)));
  }
  const samples: Samples = { afterResponse: [], afterRequest: [], answerMs: [] };
  try {
    for (let op = 0; op < OPERATIONS; op++) {
      const all = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`fan-out: operation ${op} reached ${arrivals.get(op)?.length ?? 0} of ${CLIENTS} clients`)), EVENT_TIMEOUT_MS);
        onArrival = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      const sentAt = performance.now();
      const answer = await http(`${base}/agents/${LEAF}/suspend`, { method: 'POST', body: { reason: 'manual', detail: `fanout-${op}` } });
      if (answer.status !== 200) throw new Error(`suspend: ${answer.status} ${answer.body}`);
      samples.answerMs.push(answer.ms);
      await all;
      for (const at of arrivals.get(op)!) {
        samples.afterResponse.push(Math.max(0, at - answer.endedAt));
        samples.afterRequest.push(at - sentAt);
      }
      const resumed = await http(`${base}/agents/${LEAF}/resume`, { method: 'POST' });
      if (resumed.status >= 300) throw new Error(`resume: ${resumed.status} ${resumed.body}`);
      await new Promise((r) => setTimeout(r, SETTLE_MS));
    }
  } finally {
    for (const client of clients) client.destroy();
  }
  return samples;
}

/** A raw SSE client on its own socket; resolves once the stream is open, reports each tagged `suspended` event. */
function openClient(url: string, onSuspended: (op: number, at: number) => void): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`observe: ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('error', () => {}); // destroyed at the end of the figure
      let buffer = '';
      res.on('data', (chunk: string) => {
        const at = performance.now();
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (frame.startsWith(': connected')) resolve(req);
          if (!frame.includes('\nevent: suspended\n')) continue;
          const data = JSON.parse(frame.slice(frame.indexOf('\ndata: ') + 7)) as { detail?: string };
          const match = /^fanout-(\d+)$/.exec(data.detail ?? '');
          if (match) onSuspended(Number(match[1]), at);
        }
      });
    });
    req.on('error', (error) => {
      if (!req.destroyed) reject(error);
    });
  });
}

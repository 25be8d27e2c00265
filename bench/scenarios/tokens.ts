import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { anthropicClient, requestJson } from '../../src/model/client.js';
import type { BenchBase } from '../context.js';
import { percentile } from '../load.js';
import { startDaemonProcess } from '../processes.js';
import { fmt, type Row } from '../table.js';

const CLIENTS = 100;
const DELTAS = 200;
const GAP_MS = 5;
const CPU_CALLS = 300;
const CPU_ROUNDS = 3;

/** Wall-clock milliseconds with sub-millisecond precision (the same clock in every process of the machine). */
const wallMs = (): number => performance.timeOrigin + performance.now();

/** A text delta carrying the moment it left: the clients read it back from the token's text. */
const stampText = (): string => `<${wallMs().toFixed(3)}>`;

/**
 * Figure 14: a token's trip from the Messages API to 100 `/observe?tokens=true` clients: the fake writes each text
 * delta with the time it left in its text, and every client notes when it arrives. The ceiling: the same frames
 * written to 100 clients by a bare node:http server (in the same process as the fake, so both are stamped on the
 * same event loop, and read by the same clients). 14b: the CPU of one model call in this process, streamed and
 * not, against the fake in its own process (the SDK, our fetch and the event parsing: what streaming adds).
 */
export async function tokenFigures(ctx: BenchBase): Promise<Row[]> {
  const source = await startTokenSource();
  const daemon = await startDaemonProcess({ db: join(ctx.workDir, 'tokens.db'), fakeUrl: source.url });
  let daemonLatencies: number[];
  let bareLatencies: number[];
  try {
    const spawned = await post(`${daemon.url}/agents`, { id: 'talker', spec: { goal: 'Talk at length', model: 'claude-haiku-4-5' } });
    if (spawned !== 201) throw new Error(`spawn answered ${spawned}`);
    await source.called; // the agent's first call waits here until every client listens
    daemonLatencies = await measure(`${daemon.url}/agents/talker/observe?tokens=true`, () => source.release());
  } finally {
    await daemon.stop();
  }
  try {
    bareLatencies = await measure(`${source.url}/observe`, () => source.fanOut());
  } finally {
    await source.close();
  }
  const cpu = await callCpu(ctx);
  const p = (values: number[], q: number) => fmt.ms(percentile(values, q));
  const ratio = percentile(daemonLatencies, 50) / percentile(bareLatencies, 50);
  return [{
    figure: `live tokens: fake → ${CLIENTS} /observe?tokens=true clients (${DELTAS} deltas ${GAP_MS} ms apart; ${daemonLatencies.length.toLocaleString('en-US')} arrivals)`,
    auton: `p50 ${p(daemonLatencies, 50)}, p99 ${p(daemonLatencies, 99)}`,
    ceiling: `bare node:http writing the same frames: p50 ${p(bareLatencies, 50)}, p99 ${p(bareLatencies, 99)}`,
    ratio: fmt.times(ratio),
    goal: '(shown)',
    met: null,
  }, {
    figure: `CPU of one model call, streamed vs not (the model client in this process, ${cpu.deltas} text deltas per reply)`,
    auton: `streamed ${Math.round(cpu.streamedUs)} µs CPU/call`,
    ceiling: `not streamed ${Math.round(cpu.wholeUs)} µs CPU/call`,
    ratio: fmt.times(cpu.streamedUs / cpu.wholeUs),
    goal: '(shown)',
    met: null,
  }];
}

/** Opens CLIENTS streams, starts the frames with `go`, and returns every token's latency in ms. */
async function measure(url: string, go: () => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  const done: Array<Promise<void>> = [];
  const streams: IncomingMessage[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      request(url, { headers: { accept: 'text/event-stream' }, agent: false }, resolve).on('error', reject).end();
    });
    streams.push(res);
    res.setEncoding('utf8');
    let buffer = '';
    let seen = 0;
    done.push(new Promise((resolve) => {
      res.on('data', (chunk: string) => {
        const now = wallMs();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!frame.startsWith('event: token\n')) continue;
          const stamp = /<(\d+\.\d+)>/.exec(frame);
          if (stamp) latencies.push(now - Number(stamp[1]));
          if (++seen === DELTAS) resolve();
        }
      });
    }));
  }
  await go();
  await Promise.race([Promise.all(done), new Promise((r) => setTimeout(r, 30_000))]);
  for (const res of streams) res.destroy();
  return latencies;
}

interface TokenSource {
  url: string;
  /** Resolves when the agent's first model call has arrived (and waits). */
  called: Promise<void>;
  /** Streams that call's reply: DELTAS stamped text deltas, GAP_MS apart. */
  release(): Promise<void>;
  /** The same frames, as the daemon sends them, written by this server to its own /observe clients. */
  fanOut(): Promise<void>;
  close(): Promise<void>;
}

/** A Messages API (streaming only) and the bare /observe server, in this process. */
async function startTokenSource(): Promise<TokenSource> {
  let arrived!: () => void;
  const called = new Promise<void>((resolve) => (arrived = resolve));
  let waiting: ServerResponse | null = null;
  const observers = new Set<ServerResponse>();
  const sse = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/observe') {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      res.write(': connected\n\n');
      observers.add(res);
      res.on('close', () => observers.delete(res));
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      if (waiting) return void res.end(sse('message_start', message()) + sse('message_delta', messageDelta()) + sse('message_stop', { type: 'message_stop' }));
      waiting = res;
      arrived();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const paced = async (write: (text: string) => void) => {
    for (let i = 0; i < DELTAS; i++) {
      write(stampText());
      await new Promise((r) => setTimeout(r, GAP_MS));
    }
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    called,
    async release() {
      const res = waiting!;
      res.write(sse('message_start', message()) + sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '', citations: null } }));
      await paced((text) => res.write(sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })));
      res.end(sse('content_block_stop', { type: 'content_block_stop', index: 0 }) + sse('message_delta', messageDelta()) + sse('message_stop', { type: 'message_stop' }));
    },
    async fanOut() {
      await paced((text) => {
        const frame = sse('token', { path: 'talker', text, index: 0 });
        for (const res of observers) res.write(frame);
      });
    },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function message() {
  return {
    type: 'message_start',
    message: {
      id: 'msg_bench', type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [], stop_reason: null, stop_sequence: null,
      usage: { input_tokens: 100, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    },
  };
}

function messageDelta() {
  return { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: DELTAS * 4 } };
}

function post(url: string, body: unknown): Promise<number> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => {
    await r.text();
    return r.status;
  });
}

/** CPU per call of the model client in this process, streamed and whole, alternating rounds against the fake process. */
async function callCpu(ctx: BenchBase): Promise<{ streamedUs: number; wholeUs: number; deltas: number }> {
  await ctx.fake.configure('prose', 0);
  const model = anthropicClient({ apiKey: 'fake', baseURL: ctx.fake.url, maxRetries: 0, timeoutMs: 30_000 });
  const turn = JSON.stringify({ role: 'user', content: 'Write a paragraph about tides.' });
  const whole = requestJson({ model: 'claude-haiku-4-5', max_tokens: 1_000 }, [turn]);
  const streamed = requestJson({ model: 'claude-haiku-4-5', max_tokens: 1_000, stream: true }, [turn]);
  const signal = new AbortController().signal;
  let deltas = 0;
  const count = () => void deltas++;
  // Warm both paths (JIT, sockets) before measuring.
  for (let i = 0; i < 30; i++) {
    await model.create(whole, signal);
    await model.stream(streamed, signal, count);
  }
  let wholeUs = 0;
  let streamedUs = 0;
  deltas = 0;
  for (let round = 0; round < CPU_ROUNDS; round++) {
    let before = process.cpuUsage();
    for (let i = 0; i < CPU_CALLS; i++) await model.create(whole, signal);
    let used = process.cpuUsage(before);
    wholeUs += used.user + used.system;
    before = process.cpuUsage();
    for (let i = 0; i < CPU_CALLS; i++) await model.stream(streamed, signal, count);
    used = process.cpuUsage(before);
    streamedUs += used.user + used.system;
  }
  await ctx.fake.configure('text', 0);
  const calls = CPU_CALLS * CPU_ROUNDS;
  return { streamedUs: streamedUs / calls, wholeUs: wholeUs / calls, deltas: Math.round(deltas / calls) };
}

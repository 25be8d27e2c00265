import { readFileSync } from 'node:fs';
import { anthropicClient } from '../../src/model/client.js';
import { serveIpc } from '../processes.js';

/**
 * Figure 7b, in a process of its own: the daemon's model client alone (the real SDK with Auton's keep-alive
 * fetch), `agents` loops each sending the same body again as soon as its answer arrives. No runtime, store or
 * events: the difference from figure 7 is what the runtime adds to each call.
 * Args: fake URL, body file, agents, warm-up ms, window ms.
 */
export interface ClientResult { calls: number; errors: number; firstError: string | null; seconds: number; cpuUs: number }

const [url, bodyFile, agentsArg, warmupArg, windowArg] = process.argv.slice(2);
const body = readFileSync(bodyFile!, 'utf8');
const client = anthropicClient({ apiKey: 'fake', baseURL: url, maxRetries: 2, timeoutMs: 60_000 });
const controller = new AbortController();
let calls = 0;
let errors = 0;
let firstError: string | null = null;
let running = true;

async function loop(): Promise<void> {
  while (running) {
    try {
      await client.create(body, controller.signal);
      calls++;
    } catch (error) {
      if (!running) return;
      errors++;
      firstError ??= String(error);
    }
  }
}

const loops = Array.from({ length: Number(agentsArg) }, () => loop());
await new Promise((r) => setTimeout(r, Number(warmupArg)));
const callsBefore = calls;
const cpuBefore = process.cpuUsage();
const started = performance.now();
await new Promise((r) => setTimeout(r, Number(windowArg)));
const cpu = process.cpuUsage(cpuBefore);
const result: ClientResult = { calls: calls - callsBefore, errors, firstError, seconds: (performance.now() - started) / 1000, cpuUs: cpu.user + cpu.system };
running = false;
controller.abort();
await Promise.allSettled(loops);
serveIpc(result, () => true);

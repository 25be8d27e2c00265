import { join } from 'node:path';
import { LOAD, type BenchContext } from '../context.js';
import { cannon, checkRuns, expectJson, http, type LoadOptions, type LoadResult } from '../load.js';
import { startDaemonProcess } from '../processes.js';
import { fmt, type Row } from '../table.js';

/** Spawns rotate over this many parents, each allowing many children (the default max_children is 10). */
const PARENTS = 10;
const SPEC = { goal: 'Summarise one paper on agent architectures', model: 'claude-haiku-4-5' };

/**
 * Figure 2: durable spawn. Every 201 is on disk (group commit) before it is sent, and every new agent starts its
 * loop: one model call against the fake (answering at once with text), then idle. Each request has a fresh id.
 */
export async function spawnFigure(ctx: BenchContext): Promise<Row[]> {
  const { daemonUrl, ceilings, fake } = ctx;
  await fake.configure('text', 0);
  await addParents(daemonUrl);
  const sample = await http(`${daemonUrl}/agents/spawn-p0`, { method: 'POST', body: { id: 'fixture', spec: SPEC } });
  if (sample.status !== 201) throw new Error(`spawn fixture: ${sample.status} ${sample.body}`);
  await ceilings.load({ spawned: sample.body });

  const load = (url: string, pid: number): LoadOptions => {
    let n = 0;
    return {
      url, ...LOAD, pid,
      setupRequest: (request) => {
        const i = n++;
        return {
          ...request, method: 'POST', path: `/agents/spawn-p${i % PARENTS}`,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: `s-${i}`, spec: SPEC }),
        };
      },
    };
  };
  const auton = await cannon(load(daemonUrl, ctx.daemonPid));
  const bareFastify = await cannon(load(ceilings.fastifyUrl, ceilings.pid));
  const bareHttp = await cannon(load(ceilings.httpUrl, ceilings.pid));
  checkRuns({ auton, bareFastify, bareHttp });
  const ratio = auton.rps / bareFastify.rps;

  // The same spawns where the new agent's first model call costs nothing: without an API key the runner fails
  // it at once (and supervision suspends the agent). What is left is the control plane and the store.
  const keyless = await startDaemonProcess({ db: join(ctx.workDir, 'spawn-keyless.db'), fakeUrl: fake.url, env: { ANTHROPIC_API_KEY: '' } });
  let noModel: LoadResult;
  try {
    await addParents(keyless.url);
    noModel = await cannon(load(keyless.url, keyless.pid));
  } finally {
    await keyless.stop();
  }
  checkRuns({ noModel });
  return [{
    figure: `POST /agents/{parent} durable spawn (${LOAD.connections} connections, ${PARENTS} parents)`,
    auton: `${fmt.rps(auton.rps)}, p99 ${auton.p99} ms${fmt.cpu(auton.cpuUsPerRequest)}`,
    ceiling: `Fastify ${fmt.rps(bareFastify.rps)}, p99 ${bareFastify.p99} ms${fmt.cpu(bareFastify.cpuUsPerRequest)}; node:http ${fmt.rps(bareHttp.rps)}${fmt.cpu(bareHttp.cpuUsPerRequest)}`,
    ratio: fmt.ratio(ratio),
    goal: '≥ 0.30 of Fastify',
    met: ratio >= 0.3,
  }, {
    figure: 'the same, no model call (no API key: the runner fails the call at once; fresh store)',
    auton: `${fmt.rps(noModel.rps)}, p99 ${noModel.p99} ms${fmt.cpu(noModel.cpuUsPerRequest)}`,
    ceiling: `Fastify ${fmt.rps(bareFastify.rps)}`,
    ratio: fmt.ratio(noModel.rps / bareFastify.rps),
    goal: '(shown)',
    met: null,
  }];
}

async function addParents(url: string): Promise<void> {
  for (let p = 0; p < PARENTS; p++) {
    await expectJson(`${url}/agents`, 201, {
      method: 'POST', body: { id: `spawn-p${p}`, spec: SPEC, policy: { max_children: 10_000, max_depth: 3 } },
    });
  }
}

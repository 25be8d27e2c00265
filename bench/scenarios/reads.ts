import { LOAD, type BenchContext } from '../context.js';
import { cannon, checkRuns, http, percentile, sequential } from '../load.js';
import { fmt, type Row } from '../table.js';
import { AGENTS, LEAF } from '../tree-fixture.js';

const PAGE = '/agents?depth=0&limit=100';
const TREE_SAMPLES = 40;

/** Figure 1: one node by path, under load. */
export async function nodeFigure(ctx: BenchContext): Promise<Row[]> {
  const { daemonUrl, ceilings } = ctx;
  await ceilings.load({ node: await capture(`${daemonUrl}/agents/${LEAF}`) });
  const single = async (base: string, pid: number) => cannon({ url: `${base}/agents/${LEAF}`, ...LOAD, pid });
  const auton = await single(daemonUrl, ctx.daemonPid);
  const bareFastify = await single(ceilings.fastifyUrl, ceilings.pid);
  const bareHttp = await single(ceilings.httpUrl, ceilings.pid);
  checkRuns({ auton, bareFastify, bareHttp });
  const ratio = auton.rps / bareFastify.rps;
  return [{
    figure: `GET /agents/{path} (a leaf, ${AGENTS.toLocaleString('en-US')}-agent tree, ${LOAD.connections} connections)`,
    auton: `${fmt.rps(auton.rps)}, p99 ${auton.p99} ms${fmt.cpu(auton.cpuUsPerRequest)}`,
    ceiling: `Fastify ${fmt.rps(bareFastify.rps)}, p99 ${bareFastify.p99} ms${fmt.cpu(bareFastify.cpuUsPerRequest)}; node:http ${fmt.rps(bareHttp.rps)}${fmt.cpu(bareHttp.cpuUsPerRequest)}`,
    ratio: fmt.ratio(ratio),
    goal: '≥ 0.70 of Fastify',
    met: ratio >= 0.7,
  }];
}

/** Figure 3: the whole tree (latency, one request at a time), and a page of roots under load. */
export async function treeFigures(ctx: BenchContext): Promise<Row[]> {
  const { daemonUrl, ceilings } = ctx;
  const tree = await capture(`${daemonUrl}/agents`);
  await ceilings.load({ tree, page: await capture(daemonUrl + PAGE) });

  const whole = (base: string) => sequential(TREE_SAMPLES, 3, () => http(`${base}/agents`));
  const treeAuton = await whole(daemonUrl);
  const treeFastify = await whole(ceilings.fastifyUrl);
  const treeHttp = await whole(ceilings.httpUrl);

  const paged = async (base: string, pid: number) => cannon({ url: base + PAGE, connections: LOAD.connections, durationSeconds: 3, pid });
  const pageAuton = await paged(daemonUrl, ctx.daemonPid);
  const pageFastify = await paged(ceilings.fastifyUrl, ceilings.pid);
  checkRuns({ pageAuton, pageFastify });

  const p99 = (v: number[]) => percentile(v, 99);
  const p50 = (v: number[]) => percentile(v, 50);
  return [
    {
      figure: `GET /agents (whole tree, ${fmt.mib(Buffer.byteLength(tree))}, ${TREE_SAMPLES} sequential)`,
      auton: `p50 ${fmt.ms(p50(treeAuton))}, p99 ${fmt.ms(p99(treeAuton))}`,
      ceiling: `Fastify p99 ${fmt.ms(p99(treeFastify))}; node:http p99 ${fmt.ms(p99(treeHttp))}`,
      ratio: fmt.times(p99(treeAuton) / p99(treeFastify)),
      goal: 'p99 < 150 ms',
      met: p99(treeAuton) < 150,
    },
    {
      figure: `GET ${PAGE} (${LOAD.connections} connections)`,
      auton: `${fmt.rps(pageAuton.rps)}, p50 ${pageAuton.p50} ms, p99 ${pageAuton.p99} ms${fmt.cpu(pageAuton.cpuUsPerRequest)}`,
      ceiling: `Fastify ${fmt.rps(pageFastify.rps)}, p99 ${pageFastify.p99} ms${fmt.cpu(pageFastify.cpuUsPerRequest)}`,
      ratio: fmt.ratio(pageAuton.rps / pageFastify.rps),
      goal: '(shown)',
      met: null,
    },
  ];
}

/** The daemon's answer to a read, served as is by the ceilings. */
async function capture(url: string): Promise<string> {
  const answer = await http(url);
  if (answer.status !== 200) throw new Error(`GET ${url}: ${answer.status} ${answer.body.slice(0, 200)}`);
  return answer.body;
}

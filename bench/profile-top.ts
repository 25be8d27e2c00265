import { readFileSync } from 'node:fs';

/**
 * `tsx bench/profile-top.ts FILE.cpuprofile [N] [FROM_S] [TO_S]`: the hot functions of a V8 CPU profile (from
 * `BENCH_CPU_PROF=dir npm run bench -- 1`), by self time, by total time (the function and what it calls), and
 * self time summed by source file. Percentages are of the busy time: idle is left out. FROM_S/TO_S keep only
 * the samples in that window of seconds since the profile began (e.g. leave out start-up).
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, top = '30', from = '0', to = 'Infinity'] = process.argv.slice(2);
if (!file) throw new Error('usage: tsx bench/profile-top.ts FILE.cpuprofile [N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const selfUs = new Map<number, number>();
let clockUs = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  clockUs += delta;
  if (clockUs >= Number(from) * 1e6 && clockUs <= Number(to) * 1e6) selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
});
const idleUs = [...selfUs].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
const total = [...selfUs.values()].reduce((a, b) => a + b, 0) - idleUs;

const shortUrl = (url: string) => url.replace(/^file:\/\/.*?\/(node_modules|src|bench|test)\//, '$1/').replace(/^node:/, 'node:');
const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
const keyOf = (id: number) => {
  const { functionName, url } = byId.get(id)!.callFrame;
  return `${functionName || '(anonymous)'}  ${url ? shortUrl(url) : '(native)'}`;
};
const functions = new Map<string, number>();
const inclusive = new Map<string, number>();
const files = new Map<string, number>();
for (const [id, us] of selfUs) {
  const { functionName, url } = byId.get(id)!.callFrame;
  if (functionName === '(idle)') continue;
  add(functions, keyOf(id), us);
  add(files, url ? shortUrl(url).replace(/^(node_modules\/(@[^/]+\/)?[^/]+).*$/, '$1') : `(${functionName})`, us);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) seen.add(keyOf(at));
  for (const key of seen) add(inclusive, key, us);
}

const print = (title: string, map: Map<string, number>, n: number) => {
  process.stdout.write(`\n${title}\n`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}\n`);
  }
};
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s busy, ${(idleUs / 1e6).toFixed(1)} s idle\n`);
print('self time by function', functions, Number(top));
print('total time by function (itself and what it calls)', inclusive, Number(top));
print('self time by file / package', files, 20);

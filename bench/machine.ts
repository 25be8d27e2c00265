import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';

/** The machine the figures were measured on, for the report. */
export function describeMachine(): string {
  const cores = cpus();
  return [
    `date: ${new Date().toISOString()}`,
    `machine: ${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, ${osType()} ${release()}`,
    `node ${process.version}; code: ${codeVersion()}`,
  ].join('\n');
}

/** The commit measured, and whether the working tree differed from it (src/ changes while others work). */
function codeVersion(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
    return `${commit}${dirty ? ' with uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown (no git)';
  }
}

/** The 1-minute load average next to the core count: other work on the machine skews every figure. */
export function describeLoad(): string {
  const [one] = loadavg();
  const busy = (one ?? 0) > cpus().length * 0.5;
  return `load average ${(one ?? 0).toFixed(2)} on ${cpus().length} cores${busy ? ' (the machine is busy with other work: figures are pessimistic)' : ''}`;
}

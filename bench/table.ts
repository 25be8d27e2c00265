/** One line of the results table: a figure, the ceiling it is compared with (measured in the same run), the goal. */
export interface Row {
  figure: string;
  auton: string;
  ceiling: string;
  ratio: string;
  goal: string;
  /** null when the row is informational (no goal of its own). */
  met: boolean | null;
}

const HEADERS = ['#', 'figure', 'Auton', 'ceiling (same run)', 'ratio', 'goal', 'met'] as const;

/** A Markdown pipe table: readable in a terminal and pasted as is into BENCHMARKS.md. */
export function renderTable(rows: ReadonlyArray<Row & { id: string }>): string {
  const cells = rows.map((r) => [r.id, r.figure, r.auton, r.ceiling, r.ratio, r.goal, r.met === null ? '' : r.met ? 'yes' : '**no**']);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) => `| ${c.map((s, i) => s.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(HEADERS), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export const fmt = {
  rps: (n: number) => `${Math.round(n).toLocaleString('en-US')} req/s`,
  ms: (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`,
  ratio: (n: number) => n.toFixed(2),
  times: (n: number) => `${n.toFixed(1)}×`,
  kib: (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`,
  mib: (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`,
  /** Server CPU per request, when it could be measured. */
  cpu: (us: number | null) => (us === null ? '' : `, ${Math.round(us)} µs CPU/req`),
};

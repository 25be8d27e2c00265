// Diagnostics only (never in a figure): preloaded into a daemon child with
// BENCH_NODE_FLAGS="--expose-gc --import ./bench/diag/gc-on-signal.mjs", a SIGUSR2 makes the daemon run a full GC
// and print its memory before and after to stderr (see bench/diag/long-agent-memory.ts).
import { writeSync } from 'node:fs';

const mib = (n) => (n / 1048576).toFixed(1);
process.on('SIGUSR2', () => {
  const before = process.memoryUsage();
  globalThis.gc();
  const after = process.memoryUsage();
  writeSync(2, `full GC: rss ${mib(before.rss)} → ${mib(after.rss)} MiB, heap used ${mib(before.heapUsed)} → ${mib(after.heapUsed)} MiB, heap total ${mib(after.heapTotal)} MiB\n`);
});

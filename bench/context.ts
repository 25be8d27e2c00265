import type { Ceilings } from './ceilings.js';
import type { FakeApi } from './fake.js';

/** What every scenario is given: the ceilings, the fake model and a scratch directory. */
export interface BenchBase {
  ceilings: Ceilings;
  fake: FakeApi;
  /** A temporary directory for databases and fixtures, removed at the end. */
  workDir: string;
}

/** ... and, for the figures on the 10,000-agent tree, the daemon under test (a child process). */
export interface BenchContext extends BenchBase {
  daemonUrl: string;
  /** The daemon's process id (for CPU time per request). */
  daemonPid: number;
}

/** Load-generator settings shared by the throughput figures, so every server sees the same load. */
export const LOAD = { connections: 32, durationSeconds: 5 } as const;

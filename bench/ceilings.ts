import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Fixtures } from './bare-servers.js';
import { startScript } from './processes.js';

/** The bare Fastify and bare node:http servers of bare-servers.ts, in their own child process. */
export interface Ceilings {
  fastifyUrl: string;
  httpUrl: string;
  /** Their process (both servers share it; only one is under load at a time). */
  pid: number;
  /** Serve these bytes from now on (the others stay as they were). */
  load(fixtures: Partial<Fixtures>): Promise<void>;
  stop(): Promise<void>;
}

export async function startCeilings(workDir: string): Promise<Ceilings> {
  const script = await startScript<{ fastifyUrl: string; httpUrl: string }>('bench/bare-servers.ts');
  let current: Fixtures = { node: '{}', tree: '{}', page: '{}', spawned: '{}', oversight: '{}' };
  return {
    ...script.ready,
    pid: script.pid,
    load: async (fixtures) => {
      current = { ...current, ...fixtures };
      const file = join(workDir, 'fixtures.json');
      writeFileSync(file, JSON.stringify(current));
      await script.call({ cmd: 'load', file });
    },
    stop: script.stop,
  };
}

import type { FakeMode } from './fake-process.js';
import { startScript } from './processes.js';

export interface FakeApi {
  url: string;
  configure(mode: FakeMode, latencyMs: number): Promise<void>;
  /** Model calls answered so far. */
  count(): Promise<number>;
  /** The JSON body of the latest call, as the daemon's SDK sent it. */
  lastBody(): Promise<string>;
  stop(): Promise<void>;
}

export async function startFakeApi(): Promise<FakeApi> {
  const script = await startScript<{ url: string }>('bench/fake-process.ts');
  return {
    url: script.ready.url,
    configure: async (mode, latencyMs) => void (await script.call({ cmd: 'configure', mode, latencyMs })),
    count: () => script.call<number>({ cmd: 'count' }),
    lastBody: () => script.call<string>({ cmd: 'lastBody' }),
    stop: script.stop,
  };
}

import type { Logger } from 'pino';
import type { Config } from './config.js';
import { EventBus } from './events/bus.js';
import { buildApp, type AutonApp } from './http/app.js';
import { OversightEngine } from './oversight/engine.js';
import { Runtime } from './runtime/runtime.js';
import { restoreTree } from './runtime/restore.js';
import { SqliteStore } from './store/sqlite-store.js';

export interface Daemon {
  app: AutonApp;
  runtime: Runtime;
  oversight: OversightEngine;
  /** The base URL it listens on, e.g. http://127.0.0.1:8420 */
  url: string;
  close(): Promise<void>;
}

export interface DaemonOptions {
  logger: Logger | false;
  clock?: () => number;
}

/** Wires store → runtime → engines → HTTP, restores the tree, and listens. */
export async function startDaemon(config: Config, options: DaemonOptions): Promise<Daemon> {
  const clock = options.clock ?? Date.now;
  const store = new SqliteStore(config.AUTON_DB, { eventsRetained: 1_000_000, eventsLoadedAtStart: 50_000, turnsLoadedAtStart: 200 });
  const bus = new EventBus(clock);
  const runtime = new Runtime({ bus, store, clock, maxAgents: config.AUTON_MAX_AGENTS });
  const restored = restoreTree(runtime, store.load());
  bus.addSink((event) => store.appendEvent(event));
  const oversight = new OversightEngine(runtime, config.AUTON_OVERSIGHT_INTERVAL_MS);

  let accepting = true;
  const app = await buildApp({ runtime, oversight, config, isAccepting: () => accepting }, { logger: options.logger });
  await app.listen({ host: config.AUTON_HOST, port: config.AUTON_PORT });
  oversight.start();
  for (const agent of restored.active) runtime.driver.activate(agent);

  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.AUTON_PORT;
  const host = config.AUTON_HOST.includes(':') ? `[${config.AUTON_HOST}]` : config.AUTON_HOST;
  let closing: Promise<void> | null = null;
  return {
    app, runtime, oversight,
    url: `http://${host}:${port}`,
    close: () => (closing ??= (async () => {
      accepting = false;
      oversight.stop();
      for (const agent of runtime.tree.all()) runtime.driver.halt(agent);
      await app.close();
      await store.flush();
      store.close();
    })()),
  };
}

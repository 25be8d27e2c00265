import type { Logger } from 'pino';
import type { Config } from './config.js';
import { ScopeQuotas } from './domain/scope-quota.js';
import { EventBus } from './events/bus.js';
import { lifecycleLog } from './events/lifecycle-log.js';
import { startMcp } from './mcp/setup.js';
import { buildApp, type AutonApp } from './http/app.js';
import { AutonMetrics } from './http/metrics.js';
import { SseClients } from './http/sse-clients.js';
import { anthropicClient } from './model/client.js';
import { OversightEngine } from './oversight/engine.js';
import { createJudge } from './oversight/judge.js';
import { AgentRunner } from './runner/runner.js';
import { Scheduler, validateSchedule } from './runner/scheduler.js';
import { validateTools } from './runner/tools/registry.js';
import { Runtime } from './runtime/runtime.js';
import { restoreTree } from './runtime/restore.js';
import { openStore } from './store/open.js';
import { WindowTable } from './context/windows.js';
import { UsageMeter } from './usage/meter.js';
import { ApprovalRegistry } from './approvals/registry.js';
import { PriceTable } from './usage/pricing.js';
import { Supervisor } from './supervision/supervisor.js';
import { addSubtreeSpend, backfillSubtreeSpend } from './subtree/spend.js';
import { hostname } from 'node:os';
import { subtreeHost } from './cluster/subtree-host.js';
import { storeUnavailable } from './domain/errors.js';

export interface Daemon {
  app: AutonApp;
  runtime: Runtime;
  approvals: ApprovalRegistry;
  oversight: OversightEngine;
  runner: AgentRunner;
  /** The base URL it listens on, e.g. http://127.0.0.1:8420 */
  url: string;
  close(): Promise<void>;
}

export interface DaemonOptions {
  logger: Logger | false;
  clock?: () => number;
}

/** Wires store → runtime → runner, oversight, supervision, schedules → HTTP; restores the tree; listens. */
export async function startDaemon(config: Config, options: DaemonOptions): Promise<Daemon> {
  const clock = options.clock ?? Date.now;
  // Read before anything opens: a bad table is a start-up error naming the file.
  const prices = PriceTable.load(config.AUTON_PRICES_FILE);
  const windows = WindowTable.load(config.AUTON_MODEL_WINDOWS_FILE);
  // A full disk must fail a write (EFBIG, retried), not kill the process: SIGXFSZ would end it by default.
  process.on('SIGXFSZ', ignoreSignal);
  // SQLite file (locked to this daemon) or PostgreSQL URL (connected and migrated); failures are one line.
  const { store, release: unlock, cluster } = await openStore(config, clock, options.logger);
  const bus = new EventBus(clock);
  const mcp = startMcp(config, options.logger, clock);
  const runtime = new Runtime({
    bus, store, clock, maxAgents: config.AUTON_MAX_AGENTS, quotas: new ScopeQuotas(config.AUTON_API_KEYS),
    validateSpec: (spec) => {
      validateTools(spec, mcp.tools);
      validateSchedule(spec.schedule);
    },
  });
  // On PostgreSQL the subtrees this daemon leases are loaded once the engines exist (cluster.node.start below).
  const restored = cluster ? { active: [] } : restoreTree(runtime, await store.load());
  const approvals = new ApprovalRegistry(runtime);
  approvals.restore(cluster ? [] : await store.loadApprovals()); // on PostgreSQL: with each subtree adopted
  bus.addSink((event) => store.appendEvent(event));
  if (options.logger) bus.addSink(lifecycleLog(options.logger));
  const sseClients = new SseClients(config.AUTON_MAX_SSE_PER_KEY);
  const metrics = new AutonMetrics({ agents: () => runtime.tree.all(), sseClients });
  bus.addSink((event) => metrics.observeEvent(event));
  mcp.observe(metrics.registry);
  cluster?.metrics.register(metrics.registry, () => cluster.node.leases().length);

  backfillSubtreeSpend(runtime.tree);
  const oversight = new OversightEngine(runtime, config.AUTON_OVERSIGHT_INTERVAL_MS, { prices, windows });
  const model = anthropicClient({
    apiKey: config.ANTHROPIC_API_KEY, baseURL: config.ANTHROPIC_BASE_URL,
    maxRetries: config.AUTON_MODEL_MAX_RETRIES, timeoutMs: config.AUTON_MODEL_TIMEOUT_MS,
    maxReplyBytes: config.AUTON_MODEL_MAX_REPLY_BYTES,
  });
  const meter = new UsageMeter(
    prices, clock, (agent, detail) => runtime.emit(agent, 'warning', { detail }),
    (agent, tokens, costUsd) => addSubtreeSpend(runtime.tree, agent, tokens, costUsd, (node) => runtime.save(node)),
  );
  const supervisor = new Supervisor(runtime, config.AUTON_RESTART_BACKOFF_MS);
  const runner = new AgentRunner({
    runtime, model, oversight, windows, meter, maxTurnSteps: config.AUTON_MAX_TURN_STEPS, fetchPolicy: { allow: config.AUTON_FETCH_ALLOW }, mcp: mcp.tools, approvals,
    afterTurn: createJudge(runtime, model, oversight, meter, { model: config.AUTON_JUDGE_MODEL, everyTurns: config.AUTON_JUDGE_EVERY_TURNS }),
    onFailure: (agent, error) => {
      metrics.modelFailed(agent.spec.model);
      supervisor.onFailure(agent, error);
    },
  });
  runtime.driver = runner;
  const scheduler = new Scheduler(runtime);
  if (cluster) {
    const { node } = cluster;
    runtime.roots = {
      check: (id) => {
        if (!node.holds(id)) throw storeUnavailable(`this daemon holds no lease on ${id}; spawn roots with POST /agents, which places them`);
      },
      claim: (id) => node.claimRoot(id),
    };
    await node.start(subtreeHost(() => ({ runtime, store: cluster.store, approvals, runner, supervisor, scheduler })), runtime.bus);
  }

  let accepting = true;
  const app = await buildApp({
    runtime, oversight, approvals, metrics, sseClients, config, mcp, isAccepting: () => accepting, cluster: cluster?.node,
  }, { logger: options.logger });
  try {
    await app.listen({ host: config.AUTON_HOST, port: config.AUTON_PORT });
  } catch (error) {
    await app.close();
    for (const agent of runtime.tree.all()) runner.halt(agent);
    await store.flush().catch(() => {});
    await cluster?.node.drain().catch(() => {});
    await store.close();
    unlock();
    throw error;
  }
  oversight.start();
  scheduler.start();
  for (const agent of restored.active) {
    if (agent.state === 'spawning') supervisor.resumeBackoff(agent); // was waiting out a restart back-off
    else if (agent.contextLoaded) runner.activate(agent); // an idle agent with nothing waiting rests until woken
  }

  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.AUTON_PORT;
  const host = config.AUTON_HOST.includes(':') ? `[${config.AUTON_HOST}]` : config.AUTON_HOST;
  // Peers forward requests here: a wildcard address is no address to reach, the host name is.
  const reachable = config.AUTON_HOST === '0.0.0.0' || config.AUTON_HOST === '::' ? hostname() : host;
  await cluster?.node.join(config.AUTON_ADVERTISE_URL?.replace(/\/$/, '') ?? `http://${reachable}:${port}`);
  let closing: Promise<void> | null = null;
  return {
    app, runtime, approvals, oversight, runner,
    url: `http://${host}:${port}`,
    close: () => (closing ??= (async () => {
      accepting = false;
      oversight.stop();
      scheduler.stop();
      supervisor.stop();
      await app.close(); // stops accepting and ends SSE streams first, so nothing new wakes an agent
      for (const agent of runtime.tree.all()) runner.halt(agent);
      await mcp.pool.close();
      await store.flush().catch(() => {}); // a store still failing: close() tries once more; unacknowledged writes are lost
      await cluster?.node.drain().catch(() => {}); // hands the subtrees over at once, now that their writes are stored
      await store.close();
      unlock();
      process.off('SIGXFSZ', ignoreSignal);
    })()),
  };
}

function ignoreSignal(): void {}

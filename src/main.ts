import { setFlagsFromString } from 'node:v8';
import { createServer } from 'node:net';
import { ConfigError, isLoopback, loadConfig, type Config } from './config.js';
import { startDaemon, type Daemon } from './daemon.js';
import { createLogger, terminalLoggerOptions } from './http/logging.js';
import { DatabaseStartError, redactUrl } from './cluster/pg/connect.js';
import { SchemaTooNewError } from './cluster/pg/migrate.js';
import { StoreLockedError } from './store/lock.js';
import { isPostgresUrl } from './store/open.js';

/** Start-up: config → daemon → listen; signals and shutdown. */
let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`auton: ${error.message}\n`);
  process.exit(2);
}
// The keys are kept hashed in memory; the plain text need not outlive start-up (child processes, diagnostics).
delete process.env.AUTON_API_KEYS;

// V8 by default lets its old generation grow to up to 4× what its last full collection kept before the next one, so a
// busy daemon's RSS climbs for a long while before it levels off (README "Context, caching and cost", BENCHMARKS.md
// figure 9b). A process-wide setting, so the entry point's, not startDaemon's (tests run daemons in their own process).
if (config.AUTON_HEAP_GROWTH_PERCENT > 0) setFlagsFromString(`--heap-growing-percent=${config.AUTON_HEAP_GROWTH_PERCENT}`);

const logger = createLogger(config.LOG_LEVEL, terminalLoggerOptions(config.LOG_FORMAT, process.stdout.isTTY === true, Boolean(process.env.NO_COLOR)));

/** A port another process holds is one line and a non-zero exit, not a stack trace. */
function cannotListen(error: unknown, cfg: Config): never {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') process.stderr.write(`auton: port ${cfg.AUTON_PORT} is already in use (another daemon?); set AUTON_PORT\n`);
  else if (code === 'EACCES') process.stderr.write(`auton: no permission to listen on port ${cfg.AUTON_PORT}; set AUTON_PORT above 1023\n`);
  else if (code === 'EADDRNOTAVAIL') process.stderr.write(`auton: AUTON_HOST=${cfg.AUTON_HOST} is not an address of this machine\n`);
  else throw error;
  process.exit(3);
}

/** Tried before the store is opened, so a second daemon fails at once, without reading the first one's database. */
async function checkPort(cfg: Config): Promise<void> {
  if (cfg.AUTON_PORT === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen({ host: cfg.AUTON_HOST, port: cfg.AUTON_PORT, exclusive: true }, () => probe.close(() => resolve()));
  }).catch((error: unknown) => cannotListen(error, cfg));
}

await checkPort(config);
let daemon: Daemon;
try {
  daemon = await startDaemon(config, { logger });
} catch (error) {
  if (error instanceof StoreLockedError || error instanceof DatabaseStartError || error instanceof SchemaTooNewError) {
    process.stderr.write(`auton: ${error.message}\n`);
    process.exit(2);
  }
  cannotListen(error, config);
}
const keys = config.AUTON_API_KEYS;
logger.info({
  url: daemon.url, docs: `${daemon.url}/docs`, agents: daemon.runtime.tree.size, db: isPostgresUrl(config.AUTON_DB) ? redactUrl(config.AUTON_DB) : config.AUTON_DB,
  auth: keys.length > 0 ? keys.map((k) => `${k.name}${k.scope ? `:${k.scope}` : ''} (${k.role})`) : 'off',
}, 'auton is listening');
if (keys.length === 0 && !isLoopback(config.AUTON_HOST)) {
  logger.warn(`AUTON_INSECURE=1: listening on ${config.AUTON_HOST} without API keys; anyone who reaches it controls every agent`);
}
if (!config.ANTHROPIC_API_KEY) {
  logger.warn('ANTHROPIC_API_KEY is not set: the daemon serves, but agents are suspended (execution_error) at their first model call');
}

/** How long a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 5_000;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS).unref();
    daemon.close().then(() => process.exit(0), (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    });
  });
}

import { ConfigError, isLoopback, loadConfig } from './config.js';
import { startDaemon } from './daemon.js';
import { createLogger } from './http/logging.js';
import { StoreLockedError } from './store/lock.js';

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

const logger = createLogger(config.LOG_LEVEL);
let daemon;
try {
  daemon = await startDaemon(config, { logger });
} catch (error) {
  if (!(error instanceof StoreLockedError)) throw error;
  process.stderr.write(`auton: ${error.message}\n`);
  process.exit(2);
}
const keys = config.AUTON_API_KEYS;
logger.info({
  url: daemon.url, docs: `${daemon.url}/docs`, agents: daemon.runtime.tree.size, db: config.AUTON_DB,
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

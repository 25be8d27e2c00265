import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import { loadMcpConfig } from './config.js';
import type { McpLog } from './connection.js';
import { mcpMetrics } from './metrics.js';
import { McpPool } from './pool.js';
import { McpTools } from './tools.js';

export interface Mcp {
  pool: McpPool;
  tools: McpTools;
  /** Registers the MCP metrics and counts calls and restarts from now on. */
  observe(registry: Registry): void;
}

type McpConfig = Pick<Config, 'AUTON_MCP_CONFIG' | 'AUTON_MCP_CALL_TIMEOUT_MS' | 'AUTON_MCP_START_TIMEOUT_MS' | 'AUTON_MCP_RESTART_BACKOFF_MS'>;

/** Reads the operator's servers (nothing starts yet) and the tool source the runner and spawn checks use. */
export function startMcp(config: McpConfig, logger: Logger | false, clock: () => number): Mcp {
  const servers = loadMcpConfig(config.AUTON_MCP_CONFIG);
  const log: McpLog = (level, fields, message) => {
    if (logger) logger[level](fields, message);
  };
  const counters: { onCall?: (s: string, ok: boolean) => void; onRestart?: (s: string) => void } = {};
  const pool = new McpPool(servers, {
    callTimeoutMs: config.AUTON_MCP_CALL_TIMEOUT_MS, startTimeoutMs: config.AUTON_MCP_START_TIMEOUT_MS,
    restartBackoffMs: config.AUTON_MCP_RESTART_BACKOFF_MS, log, clock,
    onCall: (server, ok) => counters.onCall?.(server, ok),
    onRestart: (server) => counters.onRestart?.(server),
  });
  return {
    pool,
    tools: new McpTools(pool),
    observe: (registry) => Object.assign(counters, mcpMetrics(registry, () => pool)),
  };
}

import type { ApprovalRegistry } from '../approvals/registry.js';
import type { Config } from '../config.js';
import type { Mcp } from '../mcp/setup.js';
import type { OversightEngine } from '../oversight/engine.js';
import type { ClusterNode } from '../cluster/node.js';
import type { Runtime } from '../runtime/runtime.js';
import type { AutonMetrics } from './metrics.js';
import type { SseClients } from './sse-clients.js';

/** What the HTTP layer is given: the control plane, its engines, and the daemon's counters. */
export interface AppContext {
  runtime: Runtime;
  oversight: OversightEngine;
  /** Tool approvals (absent in tests that build the app alone: the routes answer that none are pending). */
  approvals?: ApprovalRegistry;
  metrics: AutonMetrics;
  sseClients: SseClients;
  /** The operator's MCP servers (absent in tests that build the app alone). */
  mcp?: Mcp;
  config: Pick<Config, 'AUTON_HEARTBEAT_MS' | 'AUTON_API_KEYS' | 'AUTON_RATE_LIMIT_PER_MINUTE'> & Partial<Pick<Config, 'AUTON_MCP_MAX_SESSIONS'>>;
  /** Several daemons on one PostgreSQL database: this daemon's membership (absent on SQLite). */
  cluster?: ClusterNode;
  /** False once shutdown has begun (readiness). */
  isAccepting(): boolean;
}

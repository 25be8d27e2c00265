import type { Config } from '../config.js';
import type { OversightEngine } from '../oversight/engine.js';
import type { Runtime } from '../runtime/runtime.js';

/** What the HTTP layer is given: the control plane and its engines. */
export interface AppContext {
  runtime: Runtime;
  oversight: OversightEngine;
  config: Pick<Config, 'AUTON_HEARTBEAT_MS'>;
  /** False once shutdown has begun (readiness). */
  isAccepting(): boolean;
}

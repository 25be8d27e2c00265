import { Counter, Gauge, type Registry } from 'prom-client';
import type { McpServerState } from './connection.js';
import type { McpPool } from './pool.js';

const STATES: McpServerState[] = ['stopped', 'starting', 'ready', 'restarting', 'closed'];

/**
 * MCP servers in the daemon's registry: their state and tool count read at scrape time, calls and restarts
 * counted as they happen. Server names come from the operator's file, so the label set is bounded.
 */
export function mcpMetrics(registry: Registry, pool: () => McpPool) {
  const registers = [registry];
  new Gauge({
    name: 'auton_mcp_server_state', help: 'MCP servers by state (1 for the state each server is in)', labelNames: ['server', 'state'], registers,
    collect() {
      for (const s of pool().status()) for (const state of STATES) this.set({ server: s.name, state }, s.status === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'auton_mcp_tools', help: 'Tools each MCP server lists', labelNames: ['server'], registers,
    collect() {
      for (const s of pool().status()) this.set({ server: s.name }, s.tools.length);
    },
  });
  const calls = new Counter({ name: 'auton_mcp_calls_total', help: 'MCP tool calls by server and outcome (ok, error)', labelNames: ['server', 'outcome'], registers });
  const restarts = new Counter({ name: 'auton_mcp_restarts_total', help: 'MCP server restarts (exits, failed starts, lost sessions)', labelNames: ['server'], registers });
  return {
    onCall: (server: string, ok: boolean) => calls.inc({ server, outcome: ok ? 'ok' : 'error' }),
    onRestart: (server: string) => restarts.inc({ server }),
  };
}

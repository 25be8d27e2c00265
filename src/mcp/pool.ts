import type { McpServerDef } from './config.js';
import { McpConnection, type McpConnectionOptions, type McpServerStatus } from './connection.js';

/**
 * The operator's MCP servers, one connection each, shared by every agent that uses them. Nothing starts until an
 * agent (or a spawn that must check tool names) needs a server.
 */
export class McpPool {
  private readonly connections = new Map<string, McpConnection>();

  constructor(servers: Record<string, McpServerDef>, options: McpConnectionOptions) {
    for (const [name, def] of Object.entries(servers)) this.connections.set(name, new McpConnection(name, def, options));
  }

  get size(): number {
    return this.connections.size;
  }

  get(name: string): McpConnection | undefined {
    return this.connections.get(name);
  }

  all(): Iterable<McpConnection> {
    return this.connections.values();
  }

  status(): McpServerStatus[] {
    return [...this.connections.values()].map((c) => c.status());
  }

  /**
   * Starts the named servers whose tools are not known yet and waits for their lists, so a spawn can check tool
   * names. A server that fails to start is left out (the check then says its tools are unknown, with its error).
   */
  async prepare(servers: Iterable<string>): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const name of new Set(servers)) {
      const connection = this.connections.get(name);
      if (connection && !connection.toolsKnown) waits.push(connection.ready().catch(() => {}));
    }
    await Promise.all(waits);
  }

  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.close()));
  }
}

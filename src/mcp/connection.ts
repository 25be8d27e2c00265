import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError, ToolListChangedNotificationSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { McpServerDef } from './config.js';

/** Back-off between restarts doubles per failure up to this. */
export const MCP_MAX_BACKOFF_MS = 30_000;
/** A server that stayed up this long before exiting starts its back-off over. */
export const MCP_STABLE_UPTIME_MS = 60_000;
/** How long shutdown waits for a streamable-HTTP server to acknowledge the end of its session (DELETE). */
const END_SESSION_WAIT_MS = 1_000;
/** Pages of tools/list read from one server (a server that never stops paging is cut off). */
const MAX_TOOL_PAGES = 20;

export type McpServerState = 'stopped' | 'starting' | 'ready' | 'restarting' | 'closed';
export type McpLog = (level: 'info' | 'warn', fields: Record<string, unknown>, message: string) => void;

export interface McpConnectionOptions {
  callTimeoutMs: number;
  startTimeoutMs: number;
  restartBackoffMs: number;
  log: McpLog;
  clock: () => number;
  /** Counts for /metrics. */
  onCall?: (server: string, ok: boolean) => void;
  onRestart?: (server: string) => void;
}

export interface McpServerStatus {
  name: string;
  transport: 'stdio' | 'http';
  status: McpServerState;
  tools: string[];
  restarts: number;
  last_error: string | null;
  pid: number | null;
  calls: number;
  errors: number;
}

/**
 * One MCP server, supervised like a child: started on first use, restarted with back-off when it exits (or fails
 * to start), re-initialised when its streamable-HTTP session is lost, its tool list refreshed on list_changed.
 * Every failure becomes a rejected call, never an exception that escapes: a call in flight when the server dies
 * fails, and is not replayed (it may have taken effect).
 */
export class McpConnection {
  /** The last tool list the server gave (kept while it restarts, so agents' tool definitions stay stable). */
  tools: Tool[] = [];
  toolsKnown = false;
  /** Bumped whenever `tools` changes. */
  toolsVersion = 0;
  state: McpServerState = 'stopped';
  private client: Client | null = null;
  /** Ends the current streamable-HTTP session (DELETE), so the server can free it. */
  private endSession: (() => Promise<void>) | null = null;
  private pid: number | null = null;
  private starting: Promise<void> | null = null;
  /** Bumped per connection attempt: events of an older client (its close) change nothing. */
  private generation = 0;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private upSinceMs = 0;
  private restarts = 0;
  private lastError: string | null = null;
  private calls = 0;
  private errors = 0;

  constructor(readonly name: string, private readonly def: McpServerDef, private readonly opts: McpConnectionOptions) {}

  get callTimeoutMs(): number {
    return this.def.timeout ?? this.opts.callTimeoutMs;
  }

  status(): McpServerStatus {
    return {
      name: this.name, transport: 'url' in this.def ? 'http' : 'stdio', status: this.state, tools: this.tools.map((t) => t.name),
      restarts: this.restarts, last_error: this.lastError, pid: this.pid, calls: this.calls, errors: this.errors,
    };
  }

  /** Starts the server if it never was; waits while it starts. Rejects while it waits out a restart back-off. */
  ready(): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    if (this.starting) return this.starting;
    if (this.state === 'stopped') return this.start();
    const why = this.state === 'closed' ? 'the daemon is shutting down' : `it is restarting after: ${this.lastError ?? 'an exit'}`;
    return Promise.reject(new Error(`MCP server ${this.name} is unavailable: ${why}`));
  }

  async call(tool: string, args: Record<string, unknown>, signal: AbortSignal): Promise<CallToolResult> {
    await this.ready();
    const client = this.client;
    if (!client) throw new Error(`MCP server ${this.name} is unavailable`);
    const timeoutMs = this.callTimeoutMs;
    try {
      const result = (await client.callTool({ name: tool, arguments: args }, undefined, { signal, timeout: timeoutMs })) as CallToolResult;
      this.count(true);
      return result;
    } catch (error) {
      this.count(false);
      if (signal.aborted) throw error;
      if (isSessionLost(error) && this.client === client) {
        this.lastError = `session lost: ${errorText(error)}`;
        this.opts.log('warn', { mcp: this.name }, 'MCP session lost; initialising a new one');
        this.drop();
        this.restarts++;
        this.opts.onRestart?.(this.name);
        void this.start().catch(() => {});
        throw new Error(`MCP server ${this.name} lost its session during the call (not retried; it may have taken effect); a new session is being opened`);
      }
      if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
        throw new Error(`MCP server ${this.name} did not answer ${tool} within ${timeoutMs} ms`);
      }
      if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) {
        throw new Error(`MCP server ${this.name} exited during the call (not retried; it may have taken effect): ${this.lastError ?? 'connection closed'}`);
      }
      throw new Error(`MCP server ${this.name}: ${errorText(error)}`);
    }
  }

  async close(): Promise<void> {
    this.state = 'closed';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.generation++;
    const client = this.client;
    const endSession = this.endSession;
    this.client = null;
    this.endSession = null;
    this.pid = null;
    if (endSession) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([endSession().catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, END_SESSION_WAIT_MS)))]);
      clearTimeout(timer);
    }
    if (client) await client.close().catch(() => {});
  }

  private count(ok: boolean): void {
    if (ok) this.calls++;
    else this.errors++;
    this.opts.onCall?.(this.name, ok);
  }

  private start(): Promise<void> {
    this.state = 'starting';
    const generation = ++this.generation;
    const attempt = this.connect(generation).then(
      () => {
        if (generation !== this.generation) return;
        this.state = 'ready';
        this.upSinceMs = this.opts.clock();
      },
      (error: unknown) => {
        if (generation !== this.generation) throw error;
        this.lastError = `start failed: ${errorText(error)}`;
        this.opts.log('warn', { mcp: this.name, err: errorText(error) }, 'MCP server failed to start');
        this.drop();
        this.scheduleRestart();
        throw new Error(`MCP server ${this.name} failed to start: ${errorText(error)}`);
      },
    ).finally(() => {
      if (this.starting === attempt) this.starting = null;
    });
    this.starting = attempt;
    return attempt;
  }

  private async connect(generation: number): Promise<void> {
    const client = new Client({ name: 'auton', version: '0.1.0' }, { capabilities: {} });
    this.client = client;
    client.onclose = () => {
      if (generation === this.generation && this.state === 'ready') this.exited();
    };
    client.onerror = (error) => {
      // Garbage on the wire, a failed SSE stream: the call in question fails on its own; note it for the operator.
      if (generation === this.generation) this.lastError = errorText(error);
    };
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      if (generation === this.generation) {
        this.listTools(client).catch((error: unknown) => {
          this.lastError = `tools/list after list_changed: ${errorText(error)}`;
        });
      }
    });
    const { timeout: _timeout, ...def } = this.def;
    if ('url' in def) {
      const transport = new StreamableHTTPClientTransport(new URL(def.url), { requestInit: { headers: def.headers } });
      await client.connect(transport, { timeout: this.opts.startTimeoutMs });
      this.endSession = () => transport.terminateSession();
    } else {
      const transport = new StdioClientTransport({
        command: def.command, args: def.args, env: { ...getDefaultEnvironment(), ...def.env }, stderr: 'pipe', ...(def.cwd ? { cwd: def.cwd } : {}),
      });
      this.pipeStderr(transport.stderr as Readable | null);
      await client.connect(transport, { timeout: this.opts.startTimeoutMs });
      this.pid = transport.pid;
    }
    await this.listTools(client);
  }

  private async listTools(client: Client): Promise<void> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const result = await client.listTools(cursor ? { cursor } : undefined, { timeout: this.opts.startTimeoutMs });
      tools.push(...result.tools);
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    if (client !== this.client) return;
    this.tools = tools;
    this.toolsKnown = true;
    this.toolsVersion++;
  }

  /** Each stderr line of the server goes to the daemon log under the server's name. */
  private pipeStderr(stream: Readable | null): void {
    if (!stream) return;
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => this.opts.log('info', { mcp: this.name, stderr: line.slice(0, 2_000) }, 'MCP server stderr'));
    lines.on('error', () => {});
  }

  private exited(): void {
    this.lastError = `exited${this.pid !== null ? ` (pid ${this.pid})` : ''}`;
    this.opts.log('warn', { mcp: this.name }, 'MCP server exited; restarting after back-off');
    if (this.opts.clock() - this.upSinceMs >= MCP_STABLE_UPTIME_MS) this.failures = 0;
    this.drop();
    this.scheduleRestart();
  }

  /** Forgets the current client (closing it kills a stdio child); its events no longer count. */
  private drop(): void {
    this.generation++;
    const client = this.client;
    this.client = null;
    this.endSession = null;
    this.pid = null;
    if (client) void client.close().catch(() => {});
  }

  private scheduleRestart(): void {
    if (this.state === 'closed') return;
    this.state = 'restarting';
    const delayMs = Math.min(MCP_MAX_BACKOFF_MS, this.opts.restartBackoffMs * 2 ** this.failures);
    this.failures = Math.min(this.failures + 1, 30);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state !== 'restarting') return;
      this.restarts++;
      this.opts.onRestart?.(this.name);
      this.start().catch(() => {});
    }, delayMs);
    this.timer.unref();
  }
}

/** A streamable-HTTP server that forgot our session answers 404 (or JSON-RPC -32001 "Session not found"). */
function isSessionLost(error: unknown): boolean {
  if (error instanceof StreamableHTTPError && error.code === 404) return true;
  return /session not found/i.test(errorText(error));
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

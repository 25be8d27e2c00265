/**
 * A small MCP server the tests own, to misbehave on request: `echo` (trivial), `fail` (an isError result),
 * `image` (a PNG block), `crash` (exits during the call), `hang` (never answers), `garbage` (junk on stdout, then
 * a result of the wrong shape), `add_tool` (adds `added` and announces tools/list_changed).
 *
 * Run over stdio: `node --import tsx test/support/mcp-test-server.ts` (stderr says "test server up").
 * Over streamable HTTP in the test's process: `startHttpTestServer()`; `dropSessions()` forgets every session, as
 * a restarted server would, so the next request with an old session id gets 404.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** A 1×1 transparent PNG. */
export const PIXEL_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

export function testMcpServer(onStdio: boolean): McpServer {
  const server = new McpServer({ name: 'auton-test', version: '1.0.0' });
  server.registerTool('echo', { description: 'Answers its text', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: 'text', text: `echo: ${text}` }] }));
  server.registerTool('fail', { description: 'Always reports an error' },
    async () => ({ content: [{ type: 'text', text: 'the tool failed on purpose' }], isError: true }));
  server.registerTool('image', { description: 'Answers a caption and a PNG' },
    async () => ({ content: [{ type: 'text', text: 'a pixel' }, { type: 'image', data: PIXEL_PNG, mimeType: 'image/png' }] }));
  server.registerTool('hang', { description: 'Never answers' }, () => new Promise<never>(() => {}));
  server.registerTool('add_tool', { description: 'Adds the tool `added`' }, async () => {
    server.registerTool('added', { description: 'Added at run time' }, async () => ({ content: [{ type: 'text', text: 'added works' }] }));
    return { content: [{ type: 'text', text: 'added' }] };
  });
  if (onStdio) {
    server.registerTool('crash', { description: 'Exits while answering' }, () => process.exit(3));
    server.registerTool('garbage', { description: 'Writes junk, then a result of the wrong shape' }, async (extra) => {
      process.stdout.write('this is not JSON-RPC\n');
      process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id: extra.requestId, result: { content: 'not a list' } })}\n`);
      return { content: [{ type: 'text', text: 'too late' }] };
    });
  }
  return server;
}

export interface HttpTestServer {
  url: string;
  dropSessions(): void;
  /** Sessions open (a client's DELETE ends one). */
  sessionCount(): number;
  close(): Promise<void>;
}

/** The same server over streamable HTTP on 127.0.0.1 (one McpServer per session, as the SDK's examples do); 401 without `authorization`. */
export async function startHttpTestServer(options: { authorization?: string } = {}): Promise<HttpTestServer> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer((req, res) => {
    if (options.authorization !== undefined && req.headers.authorization !== options.authorization) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    void (async () => {
      const body = req.method === 'POST' ? JSON.parse(await readBody(req)) as unknown : undefined;
      const id = req.headers['mcp-session-id'];
      let transport = typeof id === 'string' ? transports.get(id) : undefined;
      if (!transport && id === undefined) {
        const created = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID, enableJsonResponse: true, onsessioninitialized: (sid) => void transports.set(sid, created) });
        created.onclose = () => void (created.sessionId && transports.delete(created.sessionId));
        await testMcpServer(false).connect(created);
        transport = created;
      }
      if (!transport) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }));
        return;
      }
      await transport.handleRequest(req, res, body);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    dropSessions: () => transports.clear(),
    sessionCount: () => transports.size,
    close: async () => {
      for (const t of transports.values()) await t.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await testMcpServer(true).connect(new StdioServerTransport());
  process.stderr.write('test server up\n');
}

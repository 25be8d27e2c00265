import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { autonMcpServer } from '../../mcp/server/auton-server.js';
import { MCP_PREFIX } from '../../runner/tools/registry.js';
import { parseMcpName } from '../../mcp/tools.js';
import type { Principal } from '../auth/access.js';
import { principalOf } from '../auth/guard.js';
import type { AppContext } from '../context.js';
import { errorResponses } from '../openapi.js';

/** Open /mcp sessions kept by default; past it the least recently used one is closed (clients re-initialise). */
const DEFAULT_MAX_SESSIONS = 100;

interface Session {
  transport: StreamableHTTPServerTransport;
  principal: Principal;
  usedMs: number;
  close(): void;
}

const serverStatus = z.object({
  name: z.string(), transport: z.enum(['stdio', 'http']), status: z.enum(['stopped', 'starting', 'ready', 'restarting', 'closed']),
  tools: z.array(z.string()), restarts: z.number(), last_error: z.string().nullable(), pid: z.number().nullable(),
  calls: z.number(), errors: z.number(),
}).meta({ id: 'McpServer' });

/**
 * Both directions of MCP over HTTP: `/mcp` is a streamable-HTTP MCP endpoint (the SDK's transport, handed the raw
 * request once the guard has checked the key) whose tools are the protocol; `/mcp/servers` shows the operator's
 * servers; and a spawn naming MCP tools first starts their servers, so the names can be checked against their
 * lists. Registered before the agent routes (the spawn check is a hook on them).
 */
export const mcpRoutes = (ctx: AppContext) => fp(async (app) => {
  const { runtime, oversight, mcp } = ctx;
  const maxSessions = ctx.config.AUTON_MCP_MAX_SESSIONS ?? DEFAULT_MAX_SESSIONS;
  const sessions = new Map<string, Session>();
  const prepareSpec = async (tools: readonly string[]) => {
    if (!mcp) return;
    await mcp.pool.prepare(tools.flatMap((t) => parseMcpName(t)?.server ?? []));
  };

  // Only a spawn body naming an MCP tool pays for this (a callback hook otherwise: no promise per request).
  app.addHook('preHandler', (req, _reply, done) => {
    const tools = (req.body as { spec?: { tools?: unknown } } | undefined)?.spec?.tools;
    if (req.method !== 'POST' || !mcp || mcp.pool.size === 0 || !Array.isArray(tools) || !tools.some((t) => typeof t === 'string' && t.startsWith(MCP_PREFIX))) return done();
    prepareSpec(tools.filter((t): t is string => typeof t === 'string')).then(() => done(), done);
  });

  app.addHook('preClose', async () => {
    for (const session of [...sessions.values()]) await session.transport.close().catch(() => {});
  });

  function open(principal: Principal): StreamableHTTPServerTransport {
    if (sessions.size >= maxSessions) {
      const oldest = [...sessions.values()].sort((a, b) => a.usedMs - b.usedMs)[0];
      void oldest?.transport.close().catch(() => {});
    }
    const session: Partial<Session> = { principal, usedMs: runtime.clock() };
    const { server, close } = autonMcpServer({
      principal: () => principal,
      context: (p) => ({ runtime, oversight, ...(ctx.approvals ? { approvals: ctx.approvals } : {}), ...(ctx.cluster ? { cluster: ctx.cluster } : {}), principal: p, prepareSpec }),
      watch: (path, onChange) => runtime.bus.subscribe(path, {
        scope: 'self',
        deliver: (event) => {
          if (event.type === 'state_change' || event.type === 'purged') onChange();
        },
        end: onChange, // its subtree moved to another daemon: a last update, and a read now reads it there
      }),
      log: (error) => app.log.error({ err: error }, 'MCP tool failed'),
    });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      enableJsonResponse: true,
      onsessioninitialized: (id) => void sessions.set(id, session as Session),
    });
    Object.assign(session, { transport, close });
    transport.onclose = () => {
      close();
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    server.connect(transport).catch((error: unknown) => app.log.error({ err: error }, 'MCP session failed to start'));
    return transport;
  }

  /** The session a request names, if the same key opened it; otherwise the SDK's own "Session not found" answer. */
  function sessionOf(req: FastifyRequest, reply: FastifyReply): Session | null {
    const id = req.headers['mcp-session-id'];
    const session = typeof id === 'string' ? sessions.get(id) : undefined;
    if (session && session.principal.name === principalOf(req).name) {
      session.usedMs = runtime.clock();
      return session;
    }
    void reply.code(typeof id === 'string' ? 404 : 400).type('application/json').send(JSON.stringify({
      jsonrpc: '2.0', id: null,
      error: typeof id === 'string' ? { code: -32001, message: 'Session not found' } : { code: -32000, message: 'Bad Request: no Mcp-Session-Id header; send initialize first' },
    }));
    return null;
  }

  async function handOver(req: FastifyRequest, reply: FastifyReply, transport: StreamableHTTPServerTransport): Promise<void> {
    reply.hijack();
    await transport.handleRequest(req.raw, reply.raw, req.body);
  }

  const hide = { hide: true } as const;
  app.post('/mcp', { config: { access: 'key' }, schema: hide }, async (req, reply) => {
    if (req.headers['mcp-session-id'] === undefined && isInitializeRequest(req.body)) return handOver(req, reply, open(principalOf(req)));
    const session = sessionOf(req, reply);
    if (session) await handOver(req, reply, session.transport);
  });
  app.get('/mcp', { config: { access: 'key', rateLimit: false }, schema: hide }, async (req, reply) => {
    const session = sessionOf(req, reply);
    if (session) await handOver(req, reply, session.transport);
  });
  app.delete('/mcp', { config: { access: 'key' }, schema: hide }, async (req, reply) => {
    const session = sessionOf(req, reply);
    if (session) await handOver(req, reply, session.transport);
  });

  app.get('/mcp/servers', {
    config: { access: 'key' },
    schema: {
      tags: ['operations'], operationId: 'listMcpServers', summary: "The operator's MCP servers (AUTON_MCP_CONFIG): state, tools, restarts, last error",
      response: { 200: z.object({ servers: z.array(serverStatus) }), ...errorResponses },
    },
  }, async () => ({ servers: mcp?.pool.status() ?? [] }));
}, { name: 'auton-mcp' });

import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema, ListResourcesRequestSchema, ListResourceTemplatesRequestSchema, ListToolsRequestSchema,
  ReadResourceRequestSchema, SubscribeRequestSchema, UnsubscribeRequestSchema, type CallToolResult, type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { DomainError } from '../../domain/errors.js';
import { renderNode } from '../../domain/node-json.js';
import { check, hiddenAgent, type Principal } from '../../http/auth/access.js';
import { HttpError } from '../../http/errors.js';
import { agentPath } from '../../http/agent-paths.js';
import { AUTON_TOOLS, type AutonTool, type AutonToolContext } from './auton-tools.js';
import { OWNER_CALLS, remoteOwner, runOnOwner } from './owner-calls.js';

/** Resources listed at most (the tree may hold 10 000 agents; a client reads the rest by URI). */
export const MCP_RESOURCE_LIST_MAX = 1_000;
const URI_PREFIX = 'auton://agents/';

/** The tool list, made once: the JSON Schemas come from the same zod schemas the HTTP routes validate with. */
const TOOL_LIST: Tool[] = AUTON_TOOLS.map((tool) => ({
  name: tool.name, description: tool.description, inputSchema: z.toJSONSchema(tool.input, { io: 'input' }) as Tool['inputSchema'],
}));
const BY_NAME = new Map(AUTON_TOOLS.map((t) => [t.name, t]));

export interface SessionHooks {
  /** The key that signs the current request (a session stays with the key that opened it). */
  principal(): Principal;
  context(principal: Principal): AutonToolContext;
  /**
   * Starts sending `notifications/resources/updated` for an agent; returns the unsubscribe. The events are this
   * daemon's: when the agent's subtree moves to another daemon, one last update, then none.
   */
  watch(path: string, onChange: () => void): () => void;
  log(error: unknown): void;
}

/** One MCP session's server: the protocol's operations as tools, agents as resources. */
export function autonMcpServer(hooks: SessionHooks): { server: Server; close(): void } {
  const server = new Server({ name: 'auton', version: '0.1.0' }, { capabilities: { tools: {}, resources: { subscribe: true } } });
  const watching = new Map<string, () => void>();

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOL_LIST }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const tool = BY_NAME.get(request.params.name);
    if (!tool) return toolError(`unknown tool ${request.params.name}; known tools: ${AUTON_TOOLS.map((t) => t.name).join(', ')}`);
    const parsed = tool.input.safeParse(request.params.arguments ?? {});
    if (!parsed.success) {
      return toolError(parsed.error.issues.map((i) => `arguments${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`).join('; '));
    }
    const principal = hooks.principal();
    const denial = tool.deny(parsed.data, principal);
    if (denial) return toolError(denial.message);
    try {
      return { content: [{ type: 'text', text: await runTool(tool, parsed.data, { ...hooks.context(principal), ...authorizationOf(extra) }) }] };
    } catch (error) {
      if (error instanceof DomainError || error instanceof HttpError) return toolError(error.message);
      hooks.log(error);
      return toolError('internal error; see the daemon log');
    }
  });

  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [{ uriTemplate: `${URI_PREFIX}{path}`, name: 'agent', description: 'An agent (its node JSON, children nested)', mimeType: 'application/json' }],
  }));

  server.setRequestHandler(ListResourcesRequestSchema, async () => {
    const principal = hooks.principal();
    const { runtime, cluster } = hooks.context(principal);
    const resources = [];
    // Several daemons: the other daemons' agents too, as stored (as list_agents).
    const remote = cluster ? (await cluster.remoteTree()).all() : [];
    for (const agent of [...runtime.tree.all(), ...remote]) {
      if (resources.length >= MCP_RESOURCE_LIST_MAX) break;
      if (check(principal, 'agent:read', agent.path) === null) {
        resources.push({ uri: URI_PREFIX + agent.path, name: agent.path, description: `${agent.state}: ${agent.spec.goal.slice(0, 200)}`, mimeType: 'application/json' });
      }
    }
    return { resources };
  });

  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const { uri } = request.params;
    const { ctx, path } = readable(hooks, uri);
    // Another daemon's agent is read from its owner (its node JSON, as GET /agents/{path}).
    const remote = ctx.cluster ? await runOnOwner({ runtime: ctx.runtime, cluster: ctx.cluster, ...authorizationOf(extra) }, { path, method: 'GET', url: `/agents/${encodeURIComponent(path)}` }) : null;
    if (remote === null && !ctx.runtime.tree.find(path)) throw new Error(hiddenAgent(path).message);
    return { contents: [{ uri, mimeType: 'application/json', text: remote ?? renderNode(ctx.runtime.get(path), ctx.runtime.clock()) }] };
  });

  server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    const { uri } = request.params;
    const { ctx, path } = readable(hooks, uri);
    if (!ctx.runtime.tree.find(path)) {
      // Updates come from this daemon's event bus, which carries only its own subtrees' events.
      const owner = ctx.cluster ? await remoteOwner(ctx.cluster, ctx.runtime, path) : null;
      if (owner) throw new Error(`${path} is run by daemon ${owner.owner} (${owner.address}): subscriptions cover only the agents of the daemon a session is connected to; subscribe through ${owner.owner}'s /mcp, or read the resource again to see changes`);
      throw new Error(hiddenAgent(path).message); // a missing agent is an error, not a silent subscription
    }
    if (!watching.has(uri)) {
      watching.set(uri, hooks.watch(path, () => {
        server.sendResourceUpdated({ uri }).catch(() => {});
      }));
    }
    return {};
  });

  server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    watching.get(request.params.uri)?.();
    watching.delete(request.params.uri);
    return {};
  });

  return {
    server,
    close: () => {
      for (const stop of watching.values()) stop();
      watching.clear();
    },
  };
}

/** The agent path a resource URI names, if the caller's key may read it; otherwise the 404 message (it does not exist). */
function readable(hooks: SessionHooks, uri: string): { ctx: AutonToolContext; path: string } {
  const principal = hooks.principal();
  if (!uri.startsWith(URI_PREFIX)) throw new Error(`unknown resource ${uri}; agents are ${URI_PREFIX}{path}`);
  const path = agentPath(decodeURIComponent(uri.slice(URI_PREFIX.length)));
  if (check(principal, 'agent:read', path)) throw new Error(hiddenAgent(path).message);
  return { ctx: hooks.context(principal), path };
}

/** A tool about another daemon's subtree runs on that daemon, as its HTTP route; the rest run here. */
async function runTool(tool: AutonTool, args: Record<string, unknown>, ctx: AutonToolContext): Promise<string> {
  const call = ctx.cluster ? OWNER_CALLS[tool.name]?.(args, ctx.principal.scope, ctx.runtime) : null;
  if (call && ctx.cluster) {
    const answer = await runOnOwner({ runtime: ctx.runtime, cluster: ctx.cluster, ...(ctx.authorization === undefined ? {} : { authorization: ctx.authorization }) }, call);
    if (answer !== null) return tool.fromOwner ? tool.fromOwner(answer, args, ctx) : answer;
  }
  return tool.run(args, ctx);
}

/** The Authorization header of the MCP request being answered (the transport hands the handlers its headers). */
function authorizationOf(extra: { requestInfo?: { headers: Record<string, string | string[] | undefined> } }): { authorization?: string } {
  const value = extra.requestInfo?.headers.authorization;
  return typeof value === 'string' ? { authorization: value } : {};
}

function toolError(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

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
import { AUTON_TOOLS, type AutonToolContext } from './auton-tools.js';

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
  /** Starts sending `notifications/resources/updated` for an agent; returns the unsubscribe. */
  watch(path: string, onChange: () => void): () => void;
  log(error: unknown): void;
}

/** One MCP session's server: the protocol's operations as tools, agents as resources. */
export function autonMcpServer(hooks: SessionHooks): { server: Server; close(): void } {
  const server = new Server({ name: 'auton', version: '0.1.0' }, { capabilities: { tools: {}, resources: { subscribe: true } } });
  const watching = new Map<string, () => void>();

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOL_LIST }));

  server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
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
      return { content: [{ type: 'text', text: await tool.run(parsed.data, hooks.context(principal)) }] };
    } catch (error) {
      if (error instanceof DomainError || error instanceof HttpError) return toolError(error.message);
      hooks.log(error);
      return toolError('internal error; see the daemon log');
    }
  });

  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [{ uriTemplate: `${URI_PREFIX}{path}`, name: 'agent', description: 'An agent (its node JSON, children nested)', mimeType: 'application/json' }],
  }));

  server.setRequestHandler(ListResourcesRequestSchema, () => {
    const principal = hooks.principal();
    const { runtime } = hooks.context(principal);
    const resources = [];
    for (const agent of runtime.tree.all()) {
      if (resources.length >= MCP_RESOURCE_LIST_MAX) break;
      if (check(principal, 'agent:read', agent.path) === null) {
        resources.push({ uri: URI_PREFIX + agent.path, name: agent.path, description: `${agent.state}: ${agent.spec.goal.slice(0, 200)}`, mimeType: 'application/json' });
      }
    }
    return { resources };
  });

  server.setRequestHandler(ReadResourceRequestSchema, (request) => {
    const { runtime, path } = visibleAgent(hooks, request.params.uri);
    return { contents: [{ uri: request.params.uri, mimeType: 'application/json', text: renderNode(runtime.get(path), runtime.clock()) }] };
  });

  server.setRequestHandler(SubscribeRequestSchema, (request) => {
    const { uri } = request.params;
    const { runtime, path } = visibleAgent(hooks, uri);
    runtime.get(path); // a missing agent is an error, not a silent subscription
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

/** The agent a resource URI names, if the caller's key may see it; otherwise the 404 message (it does not exist). */
function visibleAgent(hooks: SessionHooks, uri: string) {
  const principal = hooks.principal();
  const ctx = hooks.context(principal);
  if (!uri.startsWith(URI_PREFIX)) throw new Error(`unknown resource ${uri}; agents are ${URI_PREFIX}{path}`);
  const path = decodeURIComponent(uri.slice(URI_PREFIX.length));
  const denial = check(principal, 'agent:read', path);
  if (denial) throw new Error(hiddenAgent(path).message);
  if (!ctx.runtime.tree.find(path)) throw new Error(hiddenAgent(path).message);
  return { runtime: ctx.runtime, path };
}

function toolError(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

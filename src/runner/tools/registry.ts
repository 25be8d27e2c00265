import type Anthropic from '@anthropic-ai/sdk';
import type { AgentSpec } from '../../domain/schemas.js';
import { badRequest } from '../../domain/errors.js';
import { listChildren, messageChild, reportToParent, spawnChild } from './coordination.js';
import { fetchWebpage } from './fetch-webpage.js';
import type { ClientTool } from './tool.js';

/** Tools an agent gets when its spec names them. `web_search` is Anthropic's server tool: the API runs it. */
const OPTIONAL_CLIENT_TOOLS: Record<string, ClientTool> = { fetch_webpage: fetchWebpage };
const SERVER_TOOLS: Record<string, Anthropic.WebSearchTool20250305> = {
  web_search: { type: 'web_search_20250305', name: 'web_search', max_uses: 5 },
};
/** Tools every agent has. */
const COORDINATION_TOOLS: ClientTool[] = [spawnChild, listChildren, messageChild, reportToParent];

export const KNOWN_TOOLS = [...Object.keys(SERVER_TOOLS), ...Object.keys(OPTIONAL_CLIENT_TOOLS), ...COORDINATION_TOOLS.map((t) => t.definition.name)];

/** Spec entries naming MCP tools: `mcp__<server>` (all its tools) or `mcp__<server>__<tool>`, as Claude Code names them. */
export const MCP_PREFIX = 'mcp__';

/** The tools of the operator's MCP servers (src/mcp/), as the registry sees them. */
export interface McpToolSource {
  /** The spec entries among `names` that name no configured server or no tool it lists. */
  unknown(names: readonly string[]): string[];
  /** Every name a spec may use: `mcp__<server>` and `mcp__<server>__<tool>` for the tools known so far. */
  knownNames(): string[];
  /** The tools the entries name, from each server's latest tool list. */
  toolsFor(names: readonly string[]): ClientTool[];
}

/** Refuses a spec naming a tool that does not exist (a 400 listing the known ones). */
export function validateTools(spec: AgentSpec, mcp?: McpToolSource): void {
  const builtIn = spec.tools.filter((t) => !t.startsWith(MCP_PREFIX) && !KNOWN_TOOLS.includes(t));
  const fromMcp = spec.tools.filter((t) => t.startsWith(MCP_PREFIX));
  const unknown = [...builtIn, ...(mcp ? mcp.unknown(fromMcp) : fromMcp)];
  if (unknown.length > 0) {
    const known = [...KNOWN_TOOLS, ...(mcp?.knownNames() ?? [])];
    throw badRequest(`spec.tools: unknown tool ${unknown.join(', ')}; known tools: ${known.join(', ')}`);
  }
}

export interface Toolset {
  definitions: Anthropic.ToolUnion[];
  client: Map<string, ClientTool>;
}

export function toolsetFor(spec: AgentSpec, mcp?: McpToolSource): Toolset {
  const client = new Map<string, ClientTool>();
  const definitions: Anthropic.ToolUnion[] = [];
  // A name listed twice is sent once: the Messages API refuses duplicate tool names.
  for (const name of new Set(spec.tools)) {
    const server = SERVER_TOOLS[name];
    if (server) definitions.push(server);
    const tool = OPTIONAL_CLIENT_TOOLS[name];
    if (tool) client.set(name, tool);
  }
  if (mcp) for (const tool of mcp.toolsFor(spec.tools)) client.set(tool.definition.name, tool);
  for (const tool of COORDINATION_TOOLS) client.set(tool.definition.name, tool);
  for (const tool of client.values()) definitions.push(tool.definition);
  return { definitions, client };
}

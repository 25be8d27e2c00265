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

/** Refuses a spec naming a tool that does not exist (a 400 listing the known ones). */
export function validateTools(spec: AgentSpec): void {
  const unknown = spec.tools.filter((t) => !KNOWN_TOOLS.includes(t));
  if (unknown.length > 0) throw badRequest(`spec.tools: unknown tool ${unknown.join(', ')}; known tools: ${KNOWN_TOOLS.join(', ')}`);
}

export interface Toolset {
  definitions: Anthropic.ToolUnion[];
  client: Map<string, ClientTool>;
}

export function toolsetFor(spec: AgentSpec): Toolset {
  const client = new Map<string, ClientTool>();
  const definitions: Anthropic.ToolUnion[] = [];
  // A name listed twice is sent once: the Messages API refuses duplicate tool names.
  for (const name of new Set(spec.tools)) {
    const server = SERVER_TOOLS[name];
    if (server) definitions.push(server);
    const tool = OPTIONAL_CLIENT_TOOLS[name];
    if (tool) client.set(name, tool);
  }
  for (const tool of COORDINATION_TOOLS) client.set(tool.definition.name, tool);
  for (const tool of client.values()) definitions.push(tool.definition);
  return { definitions, client };
}

import type Anthropic from '@anthropic-ai/sdk';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { MCP_PREFIX, type McpToolSource } from '../runner/tools/registry.js';
import type { ClientTool, ToolOutput } from '../runner/tools/tool.js';
import type { McpConnection } from './connection.js';
import type { McpPool } from './pool.js';

/** Names the Messages API accepts for a tool; an MCP tool whose full name does not fit is not offered. */
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/** `mcp__fs` → {server: 'fs', tool: null}; `mcp__fs__read_file` → {server: 'fs', tool: 'read_file'}. */
export function parseMcpName(name: string): { server: string; tool: string | null } | null {
  if (!name.startsWith(MCP_PREFIX)) return null;
  const rest = name.slice(MCP_PREFIX.length);
  const split = rest.indexOf('__');
  return split === -1 ? { server: rest, tool: null } : { server: rest.slice(0, split), tool: rest.slice(split + 2) };
}

export const mcpToolName = (server: string, tool: string): string => `${MCP_PREFIX}${server}__${tool}`;

/** The registry's view of the pool: names to check at spawn, and ClientTools that call the servers. */
export class McpTools implements McpToolSource {
  /** Per server: the ClientTools made from one version of its tool list. */
  private readonly cache = new Map<string, { version: number; tools: Map<string, ClientTool> }>();

  constructor(private readonly pool: McpPool) {}

  unknown(names: readonly string[]): string[] {
    return names.filter((name) => {
      const parsed = parseMcpName(name);
      const connection = parsed && this.pool.get(parsed.server);
      if (!parsed || !connection) return true;
      if (parsed.tool === null) return false;
      if (!connection.toolsKnown) void connection.ready().catch(() => {}); // so that a retry can check it
      return !this.toolsOf(connection).has(parsed.tool);
    });
  }

  knownNames(): string[] {
    const names: string[] = [];
    for (const connection of this.pool.all()) {
      names.push(`${MCP_PREFIX}${connection.name}`);
      for (const tool of this.toolsOf(connection).values()) names.push(tool.definition.name);
      if (!connection.toolsKnown) names.push(`(tools of ${connection.name} not known yet${connection.status().last_error ? `: ${connection.status().last_error}` : ''})`);
    }
    return names;
  }

  toolsFor(names: readonly string[]): ClientTool[] {
    const picked: ClientTool[] = [];
    for (const name of names) {
      const parsed = parseMcpName(name);
      const connection = parsed && this.pool.get(parsed.server);
      if (!parsed || !connection) continue;
      const tools = this.toolsOf(connection);
      if (parsed.tool === null) picked.push(...tools.values());
      else {
        const tool = tools.get(parsed.tool);
        if (tool) picked.push(tool);
      }
    }
    return picked;
  }

  private toolsOf(connection: McpConnection): Map<string, ClientTool> {
    const cached = this.cache.get(connection.name);
    if (cached && cached.version === connection.toolsVersion) return cached.tools;
    const tools = new Map<string, ClientTool>();
    for (const tool of connection.tools) {
      const name = mcpToolName(connection.name, tool.name);
      if (TOOL_NAME.test(name)) tools.set(tool.name, clientTool(connection, tool, name));
    }
    this.cache.set(connection.name, { version: connection.toolsVersion, tools });
    return tools;
  }
}

function clientTool(connection: McpConnection, tool: Tool, name: string): ClientTool {
  return {
    definition: {
      name,
      description: tool.description ?? tool.title ?? `${tool.name} (MCP server ${connection.name})`,
      input_schema: tool.inputSchema as Anthropic.Tool.InputSchema,
    },
    run: async (input, ctx) => toolOutput(await connection.call(tool.name, input, ctx.signal)),
  };
}

/** An MCP result as a tool_result's content; a result marked isError throws, so the runner marks it is_error. */
export function toolOutput(result: CallToolResult): ToolOutput {
  const blocks: Array<Anthropic.TextBlockParam | Anthropic.ImageBlockParam> = [];
  for (const block of result.content ?? []) {
    switch (block.type) {
      case 'text':
        blocks.push({ type: 'text', text: block.text });
        break;
      case 'image':
        if (IMAGE_TYPES.has(block.mimeType)) {
          blocks.push({ type: 'image', source: { type: 'base64', media_type: block.mimeType as Anthropic.Base64ImageSource['media_type'], data: block.data } });
        } else blocks.push({ type: 'text', text: `[image of type ${block.mimeType} left out: the model reads jpeg, png, gif and webp]` });
        break;
      case 'resource':
        blocks.push({ type: 'text', text: 'text' in block.resource ? block.resource.text : `[binary resource ${block.resource.uri}]` });
        break;
      case 'resource_link':
        blocks.push({ type: 'text', text: `[resource ${block.uri}${block.name ? ` (${block.name})` : ''}]` });
        break;
      default:
        blocks.push({ type: 'text', text: `[${block.type} content left out]` });
    }
  }
  if (blocks.length === 0 && result.structuredContent !== undefined) blocks.push({ type: 'text', text: JSON.stringify(result.structuredContent) });
  const text = blocks.every((b) => b.type === 'text') ? blocks.map((b) => (b as Anthropic.TextBlockParam).text).join('\n') : null;
  if (result.isError) throw new Error(text ?? (blocks.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('\n') || 'the tool reported an error'));
  return text ?? blocks;
}

import type Anthropic from '@anthropic-ai/sdk';
import type { AgentRecord } from '../../domain/agent.js';
import type { FetchPolicy } from '../../net/safe-fetch.js';
import type { Runtime } from '../../runtime/runtime.js';

export interface ToolContext {
  runtime: Runtime;
  agent: AgentRecord;
  signal: AbortSignal;
  /** What fetch_webpage may reach (AUTON_FETCH_ALLOW) and how it resolves host names. */
  fetchPolicy: FetchPolicy;
}

/** What a tool answers: text, or content blocks when it has more than text (an MCP server's images). */
export type ToolOutput = string | Array<Anthropic.TextBlockParam | Anthropic.ImageBlockParam>;

/** A tool the runner executes itself; what `run` returns (or throws) becomes the tool_result. */
export interface ClientTool {
  definition: Anthropic.Tool;
  run(input: Record<string, unknown>, ctx: ToolContext): Promise<ToolOutput>;
}

/** The text of a tool's output, for events (images are named, not included). */
export function toolOutputText(output: ToolOutput): string {
  if (typeof output === 'string') return output;
  return output.map((b) => (b.type === 'text' ? b.text : `[image ${b.source.type === 'base64' ? b.source.media_type : 'url'}]`)).join('\n');
}

/** Reads a string field of a tool input, or throws an error the model sees as the tool's result. */
export function stringInput(input: Record<string, unknown>, name: string, required = true): string | undefined {
  const value = input[name];
  if (typeof value === 'string' && value.length > 0) return value;
  if (value === undefined && !required) return undefined;
  throw new Error(`"${name}" must be a non-empty string`);
}

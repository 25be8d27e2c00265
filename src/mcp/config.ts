import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The operator's MCP servers (AUTON_MCP_CONFIG), in the `mcpServers` shape Claude Code and Claude Desktop use.
 * Only this file can name a command: specs sent over HTTP pick servers by name, never start one.
 */
const SERVER_NAME = /^[A-Za-z0-9-]+(_[A-Za-z0-9-]+)*$/;
const timeout = z.number().int().min(100).max(3_600_000).optional()
  .meta({ description: 'Milliseconds one tools/call may take (default AUTON_MCP_CALL_TIMEOUT_MS)' });

const stdioServer = z.strictObject({
  type: z.literal('stdio').optional(),
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  cwd: z.string().optional(),
  timeout,
});
const httpServer = z.strictObject({
  type: z.literal('http'),
  url: z.url(),
  headers: z.record(z.string(), z.string()).default({}),
  timeout,
});
export const mcpServerSchema = z.union([httpServer, stdioServer]);
export type McpServerDef = z.infer<typeof mcpServerSchema>;

const fileSchema = z.object({ mcpServers: z.record(z.string(), mcpServerSchema) });

/** A bad AUTON_MCP_CONFIG; loadConfig() reports it as one line like any bad variable. */
export class McpConfigError extends Error {}

/** Replaces `${VAR}` (and `${VAR:-default}`) in every string; a variable that is unset and has no default is an error. */
export function expandVars(value: unknown, env: NodeJS.ProcessEnv, where: string): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      throw new McpConfigError(`${where}: \${${name}} is not set in the daemon's environment`);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandVars(v, env, `${where}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandVars(v, env, `${where}.${k}`)]));
  }
  return value;
}

/** Parses the file's text; throws one line naming what is wrong. */
export function parseMcpConfig(text: string, env: NodeJS.ProcessEnv = process.env, source = 'AUTON_MCP_CONFIG'): Record<string, McpServerDef> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new McpConfigError(`${source}: not JSON (${(error as Error).message})`);
  }
  const parsed = fileSchema.safeParse(expandVars(json, env, source));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new McpConfigError(`${source}: ${issue?.path.join('.') || 'file'}: ${issue?.message ?? 'invalid'}`);
  }
  for (const name of Object.keys(parsed.data.mcpServers)) {
    if (!SERVER_NAME.test(name) || name.length > 32) {
      throw new McpConfigError(`${source}: mcpServers.${name}: server names are 1-32 of [A-Za-z0-9-], words joined by single underscores (tool names use "__")`);
    }
  }
  return parsed.data.mcpServers;
}

/** Reads AUTON_MCP_CONFIG; no file named means no servers. */
export function loadMcpConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Record<string, McpServerDef> {
  if (path === undefined) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new McpConfigError(`AUTON_MCP_CONFIG=${path}: ${(error as Error).message}`);
  }
  return parseMcpConfig(text, env, `AUTON_MCP_CONFIG=${path}`);
}

import { isIP } from 'node:net';
import { z } from 'zod';
import { parseApiKeys } from './http/auth/api-keys.js';
import { EMPTY_ALLOW_LIST, parseFetchAllow } from './net/address-policy.js';
import { loadMcpConfig, McpConfigError } from './mcp/config.js';

/** Every environment variable the daemon reads, parsed once, each with its default. */
const intFrom = (min: number, max: number) =>
  z.coerce.number().int().min(min).max(max);

const apiKeys = z.string().transform((text, ctx) => {
  const parsed = parseApiKeys(text);
  if ('keys' in parsed) return parsed.keys;
  ctx.addIssue({ code: 'custom', message: parsed.error });
  return z.NEVER;
});

const fetchAllow = z.string().transform((text, ctx) => {
  const parsed = parseFetchAllow(text);
  if ('allow' in parsed) return parsed.allow;
  ctx.addIssue({ code: 'custom', message: parsed.error });
  return z.NEVER;
});

const configSchema = z.object({
  AUTON_HOST: z.string().min(1).default('127.0.0.1'),
  AUTON_PORT: intFrom(0, 65_535).default(8420),
  AUTON_HEARTBEAT_MS: intFrom(100, 3_600_000).default(30_000),
  AUTON_OVERSIGHT_INTERVAL_MS: intFrom(100, 86_400_000).default(30_000),
  AUTON_DB: z.string().min(1).default('./data/auton.db'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  ANTHROPIC_API_KEY: z.string().optional(),
  ANTHROPIC_BASE_URL: z.url().optional(),
  AUTON_MAX_TURN_STEPS: intFrom(1, 1000).default(25),
  AUTON_JUDGE_MODEL: z.string().min(1).default('claude-haiku-4-5'),
  AUTON_JUDGE_EVERY_TURNS: intFrom(0, 10_000).default(5),
  AUTON_MODEL_MAX_RETRIES: intFrom(0, 10).default(4),
  AUTON_MODEL_TIMEOUT_MS: intFrom(1_000, 3_600_000).default(600_000),
  AUTON_RESTART_BACKOFF_MS: intFrom(0, 600_000).default(1_000),
  AUTON_DB_SYNC: z.enum(['normal', 'full']).default('normal'),
  AUTON_SQLITE_CACHE_MIB: intFrom(1, 4_096).default(2),
  // How far V8 lets its old generation grow past what the last full collection kept; 0 = V8's own policy (main.ts).
  AUTON_HEAP_GROWTH_PERCENT: intFrom(0, 1_000).default(25),
  AUTON_MAX_AGENTS: intFrom(1, 10_000_000).default(10_000),
  AUTON_API_KEYS: apiKeys.default([]),
  AUTON_INSECURE: z.enum(['0', '1']).default('0').transform((v) => v === '1'),
  AUTON_RATE_LIMIT_PER_MINUTE: intFrom(0, 100_000_000).default(6_000),
  AUTON_MAX_SSE_PER_KEY: intFrom(1, 100_000).default(100),
  AUTON_FETCH_ALLOW: fetchAllow.default(EMPTY_ALLOW_LIST),
  AUTON_MODEL_MAX_REPLY_BYTES: intFrom(1_024, 1024 * 1024 * 1024).default(16 * 1024 * 1024),
  AUTON_PRICES_FILE: z.string().min(1).optional(),
  AUTON_MODEL_WINDOWS_FILE: z.string().min(1).optional(),
  // Several daemons on one PostgreSQL (README, "Several daemons"): a subtree's lease lasts this long unrenewed.
  AUTON_LEASE_TTL_MS: intFrom(3_000, 600_000).default(15_000),
  // Unique per daemon; a restart under the same id takes its subtrees back at once. Default: host name and port.
  AUTON_DAEMON_ID: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'letters, digits and . _ : - (at most 100)').optional(),
  // Where peers forward requests to; default http://<AUTON_HOST or the host name>:<port>.
  AUTON_ADVERTISE_URL: z.url({ protocol: /^https?$/ }).optional(),
  AUTON_MCP_CONFIG: z.string().min(1).optional(),
  AUTON_MCP_CALL_TIMEOUT_MS: intFrom(100, 3_600_000).default(60_000),
  AUTON_MCP_START_TIMEOUT_MS: intFrom(100, 600_000).default(30_000),
  AUTON_MCP_RESTART_BACKOFF_MS: intFrom(0, 600_000).default(1_000),
  AUTON_MCP_MAX_SESSIONS: intFrom(1, 100_000).default(100),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

/** Variables whose values are never echoed in an error. */
const SECRETS = new Set(['AUTON_API_KEYS', 'ANTHROPIC_API_KEY']);

/** Parses the environment; a bad value throws one line naming the variable. Empty strings count as unset. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    const shown = SECRETS.has(name) ? name : `${name}=${JSON.stringify(env[name])}`;
    throw new ConfigError(`invalid ${shown}: ${issue?.message ?? 'bad value'}`);
  }
  const config = parsed.data;
  try {
    // Read again when the daemon starts (${VAR} from process.env there too); checked here so a bad file is one line.
    loadMcpConfig(config.AUTON_MCP_CONFIG);
  } catch (error) {
    if (error instanceof McpConfigError) throw new ConfigError(error.message);
    throw error;
  }
  if (!isLoopback(config.AUTON_HOST) && config.AUTON_API_KEYS.length === 0 && !config.AUTON_INSECURE) {
    throw new ConfigError(
      `refusing to listen on AUTON_HOST=${config.AUTON_HOST} without AUTON_API_KEYS: anyone who reaches it could run agents ` +
      'on your model key. Set AUTON_API_KEYS (README, "Security"), or AUTON_INSECURE=1 if a proxy in front authenticates.',
    );
  }
  return config;
}

/** 127.0.0.0/8, ::1 and localhost; anything else (0.0.0.0, ::, a hostname, a LAN address) may be reachable from outside. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./i.test(bare);
  return false;
}

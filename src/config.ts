import { z } from 'zod';

/** Every environment variable the daemon reads, parsed once, each with its default. */
const intFrom = (min: number, max: number) =>
  z.coerce.number().int().min(min).max(max);

const configSchema = z.object({
  AUTON_HOST: z.string().min(1).default('127.0.0.1'),
  AUTON_PORT: intFrom(0, 65_535).default(8420),
  AUTON_HEARTBEAT_MS: intFrom(100, 3_600_000).default(30_000),
  AUTON_OVERSIGHT_INTERVAL_MS: intFrom(100, 86_400_000).default(30_000),
  AUTON_DB: z.string().min(1).default('./data/auton.db'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ANTHROPIC_API_KEY: z.string().optional(),
  ANTHROPIC_BASE_URL: z.url().optional(),
  AUTON_MAX_TURN_STEPS: intFrom(1, 1000).default(25),
  AUTON_JUDGE_MODEL: z.string().min(1).default('claude-haiku-4-5'),
  AUTON_JUDGE_EVERY_TURNS: intFrom(0, 10_000).default(5),
  AUTON_MODEL_MAX_RETRIES: intFrom(0, 10).default(4),
  AUTON_MODEL_TIMEOUT_MS: intFrom(1_000, 3_600_000).default(600_000),
  AUTON_RESTART_BACKOFF_MS: intFrom(0, 600_000).default(1_000),
  AUTON_DB_SYNC: z.enum(['normal', 'full']).default('normal'),
  AUTON_MAX_AGENTS: intFrom(1, 10_000_000).default(10_000),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

/** Parses the environment; a bad value throws one line naming the variable. Empty strings count as unset. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const name = String(issue?.path[0] ?? 'environment');
  throw new ConfigError(`invalid ${name}=${JSON.stringify(env[name])}: ${issue?.message ?? 'bad value'}`);
}

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../config.js';

const windowFileSchema = z.object({
  default_tokens: z.number().int().min(1_000).max(100_000_000).optional(),
  models: z.record(z.string().min(1).max(128), z.number().int().min(1_000).max(100_000_000)),
});

/** The shipped table; read from src/ whether running from src (tsx) or dist (like the console's files). */
const SHIPPED_WINDOWS = new URL('../../src/context/model-windows.json', import.meta.url);

export class WindowFileError extends ConfigError {}

function readWindowFile(file: string | URL): z.infer<typeof windowFileSchema> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new WindowFileError(`cannot read model window table ${String(file)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = windowFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WindowFileError(`invalid model window table ${String(file)}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`);
  }
  return parsed.data;
}

/**
 * Context windows by model, in tokens. A model is found by its exact name, else by the longest listed name it starts
 * with, else the table's default (a local model behind a compatible server: set its window in an override file).
 */
export class WindowTable {
  private readonly windows: Map<string, number>;
  private readonly found = new Map<string, number>();

  constructor(windows: Record<string, number>, readonly defaultTokens: number) {
    this.windows = new Map(Object.entries(windows));
  }

  /** The shipped table with `overrideFile` (AUTON_MODEL_WINDOWS_FILE) laid over it; a bad file throws one line. */
  static load(overrideFile?: string): WindowTable {
    const shipped = readWindowFile(SHIPPED_WINDOWS);
    const extra = overrideFile ? readWindowFile(overrideFile) : { models: {}, default_tokens: undefined };
    return new WindowTable({ ...shipped.models, ...extra.models }, extra.default_tokens ?? shipped.default_tokens ?? 200_000);
  }

  windowOf(model: string): number {
    let tokens = this.found.get(model);
    if (tokens !== undefined) return tokens;
    tokens = this.windows.get(model);
    if (tokens === undefined) {
      let best = '';
      for (const name of this.windows.keys()) if (model.startsWith(name) && name.length > best.length) best = name;
      tokens = best ? this.windows.get(best)! : this.defaultTokens;
    }
    if (this.found.size < 1_000) this.found.set(model, tokens);
    return tokens;
  }
}

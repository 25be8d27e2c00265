import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../config.js';
import { roundUsd, type UsageFigures } from './usage.js';

/** USD per million tokens, the five rates a call is billed at. */
const rateSchema = z.number().finite().min(0).max(1_000_000);
export const modelPriceSchema = z.strictObject({
  input: rateSchema, cache_write_5m: rateSchema, cache_write_1h: rateSchema, cache_read: rateSchema, output: rateSchema,
});
export type ModelPrice = z.infer<typeof modelPriceSchema>;

const priceFileSchema = z.object({
  version: z.string().max(64).optional(),
  models: z.record(z.string().min(1).max(128), modelPriceSchema),
});

/** The shipped table; read from src/ whether running from src (tsx) or dist (like the console's files). */
const SHIPPED_PRICES = new URL('../../src/usage/prices.json', import.meta.url);

export class PriceFileError extends ConfigError {}

function readPriceFile(file: string | URL): z.infer<typeof priceFileSchema> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new PriceFileError(`cannot read price table ${String(file)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = priceFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PriceFileError(`invalid price table ${String(file)}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`);
  }
  return parsed.data;
}

/**
 * Prices by model. A model is found by its exact name, else by the longest listed name it starts with
 * (`claude-sonnet-4-5-20250929` is priced as `claude-sonnet-4-5`). Entries of an override file replace shipped ones.
 */
export class PriceTable {
  readonly version: string;
  private readonly prices: Map<string, ModelPrice>;
  private readonly found = new Map<string, ModelPrice | null>();

  constructor(prices: Record<string, ModelPrice>, version = 'custom') {
    this.prices = new Map(Object.entries(prices));
    this.version = version;
  }

  /** The shipped table with `overrideFile` (AUTON_PRICES_FILE) laid over it; a bad file throws one line. */
  static load(overrideFile?: string): PriceTable {
    const shipped = readPriceFile(SHIPPED_PRICES);
    if (!overrideFile) return new PriceTable(shipped.models, shipped.version);
    const extra = readPriceFile(overrideFile);
    return new PriceTable({ ...shipped.models, ...extra.models }, extra.version ?? `${shipped.version}+${overrideFile}`);
  }

  priceOf(model: string): ModelPrice | null {
    let price = this.found.get(model);
    if (price !== undefined) return price;
    price = this.prices.get(model) ?? null;
    if (price === null) {
      let best = '';
      for (const name of this.prices.keys()) if (model.startsWith(name) && name.length > best.length) best = name;
      price = best ? this.prices.get(best)! : null;
    }
    if (this.found.size < 1_000) this.found.set(model, price);
    return price;
  }

  /** The call's cost in USD, or null when the model has no price. */
  costOf(model: string, u: UsageFigures): number | null {
    const p = this.priceOf(model);
    if (!p) return null;
    return roundUsd((u.input * p.input + u.cacheWrite5m * p.cache_write_5m + u.cacheWrite1h * p.cache_write_1h
      + u.cacheRead * p.cache_read + u.output * p.output) / 1_000_000);
  }
}

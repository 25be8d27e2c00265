import type { AgentRecord } from '../domain/agent.js';
import type { PriceTable } from './pricing.js';
import { parseUsage, recordUsage, type UsageFigures } from './usage.js';

/** One call's usage as recorded. */
export interface MeteredUsage {
  usage: UsageFigures;
  costUsd: number | null;
  /** Tokens counted into tokens_total. */
  tokens: number;
  /** Usage fields that were not valid counts (each counted as 0). */
  usageProblems: string[];
}

/**
 * Where every model call's usage is checked, priced and added to the agent's health: the runner's calls, the
 * compaction calls and the judge's alike. A model with no price gets one `warning` event (the first agent to use
 * it) and makes cost_usd null.
 */
export class UsageMeter {
  private readonly unpriced = new Set<string>();

  constructor(
    private readonly prices: PriceTable,
    private readonly clock: () => number,
    private readonly warn: (agent: AgentRecord, detail: string) => void,
    /** Told of every call recorded (subtree spend sums add it to the agent's ancestors). */
    private readonly onRecorded: (agent: AgentRecord, tokens: number, costUsd: number | null) => void = () => {},
  ) {}

  record(agent: AgentRecord, rawUsage: unknown, model: string): MeteredUsage {
    const { figures, problems } = parseUsage(rawUsage);
    const costUsd = this.prices.costOf(model, figures);
    if (costUsd === null && !this.unpriced.has(model) && this.unpriced.size < 1_000) {
      this.unpriced.add(model);
      this.warn(agent, `no price for model ${model}: cost_usd is null; add it to a price table named by AUTON_PRICES_FILE`);
    }
    const tokens = recordUsage(agent, figures, costUsd, this.clock());
    this.onRecorded(agent, tokens, costUsd);
    return { usage: figures, costUsd, tokens, usageProblems: problems };
  }
}

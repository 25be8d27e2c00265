import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { AgentRecord } from '../domain/agent.js';
import { AGENT_STATES } from '../domain/states.js';
import type { AgentEvent } from '../events/types.js';
import { RequestHistogram } from './request-histogram.js';
import type { SseClients } from './sse-clients.js';

/** Distinct `model` label values kept before the rest are counted as `other` (spec.model is free text). */
const MAX_MODEL_LABELS = 64;

export interface MetricsSources {
  agents: () => Iterable<AgentRecord>;
  sseClients: SseClients;
}

/**
 * The daemon's Prometheus metrics, in a registry of its own (several daemons may share a process in tests).
 * Agents by state and SSE clients are read at scrape time; model calls, tokens, oversight actions and restarts are
 * counted from the event bus (`observeEvent` is a bus sink, so it does one switch per event and nothing more);
 * model failures come from the runner's failure hook; request latency from Fastify's onResponse.
 */
export class AutonMetrics {
  readonly registry = new Registry();
  private readonly models = new Set<string>();
  private readonly modelCalls: Counter<'model'>;
  private readonly modelTokens: Counter<'model'>;
  private readonly modelErrors: Counter<'model'>;
  private readonly usageTokens: Counter<'model' | 'kind'>;
  private readonly costUsd: Counter<'model'>;
  private readonly oversightActions: Counter<'kind' | 'action'>;
  private readonly restarts: Counter<'initiator'>;
  private readonly requestSeconds = new RequestHistogram();

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'auton_agents', help: 'Agents in the tree by state (dead ones included until purged)', labelNames: ['state'], registers,
      collect() {
        const counts = new Map<string, number>(AGENT_STATES.map((s) => [s, 0]));
        for (const agent of sources.agents()) counts.set(agent.state, (counts.get(agent.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'auton_sse_clients', help: 'Open SSE streams (/observe and /log)', registers,
      collect() {
        this.set(sources.sseClients.size);
      },
    });
    this.modelCalls = new Counter({ name: 'auton_model_calls_total', help: 'Completed model calls', labelNames: ['model'], registers });
    this.modelTokens = new Counter({ name: 'auton_model_tokens_total', help: 'Tokens counted into tokens_total by model calls (input + cache writes + output; cache reads are not counted)', labelNames: ['model'], registers });
    this.usageTokens = new Counter({
      name: 'auton_model_usage_tokens_total', labelNames: ['model', 'kind'], registers,
      help: 'Tokens billed by model calls (agents, compactions, the judge) by kind: input (uncached), cache_write_5m, cache_write_1h, cache_read, output',
    });
    this.costUsd = new Counter({ name: 'auton_model_cost_usd_total', help: 'USD spent on model calls (agents, compactions, the judge) at the price table; calls of unpriced models add nothing', labelNames: ['model'], registers });
    this.modelErrors = new Counter({ name: 'auton_model_errors_total', help: 'Model calls that failed for good (after retries)', labelNames: ['model'], registers });
    this.oversightActions = new Counter({ name: 'auton_oversight_actions_total', help: 'Oversight findings by check and action', labelNames: ['kind', 'action'], registers });
    this.restarts = new Counter({ name: 'auton_restarts_total', help: 'Agent restarts, by supervision or by an operator', labelNames: ['initiator'], registers });
    this.registry.registerMetric(this.requestSeconds as unknown as Metric);
  }

  /** A bus sink: counts the events that are metrics. */
  observeEvent(event: AgentEvent): void {
    const { data } = event;
    switch (event.type) {
      case 'model_call': {
        const model = this.modelLabel(data.model);
        this.modelCalls.inc({ model });
        if (typeof data.tokens === 'number') this.modelTokens.inc({ model }, data.tokens);
        this.observeUsage(model, data);
        return;
      }
      case 'judge_call':
      case 'compacted': {
        const model = this.modelLabel(data.model);
        if (typeof data.tokens === 'number') this.modelTokens.inc({ model }, data.tokens);
        this.observeUsage(model, data);
        return;
      }
      case 'oversight':
        this.oversightActions.inc({ kind: shortLabel(data.kind), action: shortLabel(data.action) });
        return;
      case 'restarted':
        this.restarts.inc({ initiator: data.by === 'supervision' ? 'supervision' : 'operator' });
        return;
    }
  }

  private observeUsage(model: string, data: Readonly<Record<string, unknown>>): void {
    for (const [kind, field] of USAGE_KINDS) {
      const n = data[field];
      if (typeof n === 'number' && n > 0) this.usageTokens.inc({ model, kind }, n);
    }
    if (typeof data.cost_usd === 'number' && data.cost_usd > 0) this.costUsd.inc({ model }, data.cost_usd);
  }

  /** The runner's failure hook: a model call that failed after its retries. */
  modelFailed(model: string): void {
    this.modelErrors.inc({ model: this.modelLabel(model) });
  }

  /** Per request, from Fastify's onResponse. */
  observeRequest(method: string, route: string | undefined, statusCode: number, seconds: number): void {
    this.requestSeconds.observe(method, route, statusCode, seconds);
  }

  private modelLabel(model: unknown): string {
    const name = shortLabel(model);
    if (this.models.has(name)) return name;
    if (this.models.size >= MAX_MODEL_LABELS) return 'other';
    this.models.add(name);
    return name;
  }
}

/** The `kind` label of auton_model_usage_tokens_total and the event field it is read from. */
const USAGE_KINDS = [
  ['input', 'input_tokens'], ['cache_write_5m', 'cache_write_5m_tokens'], ['cache_write_1h', 'cache_write_1h_tokens'],
  ['cache_read', 'cache_read_tokens'], ['output', 'output_tokens'],
] as const;

function shortLabel(value: unknown): string {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, 128) : 'unknown';
}

import type { AgentRecord } from '../domain/agent.js';
import { isActive } from '../domain/states.js';
import type { Runtime } from '../runtime/runtime.js';
import type { WindowTable } from '../context/windows.js';
import { selfAndAncestors } from '../subtree/spend.js';
import type { PriceTable } from '../usage/pricing.js';
import { CALL_CHECKS, coherence, drift, NO_CALL, PERIODIC_CHECKS, subtreeBudget, tokensInLastHour, type CallEstimate, type Check } from './checks.js';
import { dryRunOf, type DryRunEntry } from './dry-run.js';
import type { Finding, FindingDraft } from './finding.js';
import { loopPeriod, toolSignature, TOOL_HISTORY } from './loops.js';

/**
 * Runs the checks on a schedule and on demand, and acts on what they find: every finding is an `oversight`
 * event on the agent's stream and log, and a suspend finding suspends the agent with its typed reason.
 */
export class OversightEngine {
  private timer: NodeJS.Timeout | null = null;
  private readonly latest = new Map<string, Finding[]>();

  constructor(
    private readonly runtime: Runtime,
    private readonly intervalMs: number,
    private readonly tables: { prices?: PriceTable; windows?: WindowTable } = {},
  ) {}

  start(): void {
    if (this.timer) return;
    // A chained timeout rather than an interval: a pass can never overlap the previous one.
    const tick = () => {
      this.runPass();
      this.timer = setTimeout(tick, this.intervalMs);
      this.timer.unref();
    };
    this.timer = setTimeout(tick, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One pass over every active agent. */
  runPass(): Finding[] {
    const nowMs = this.runtime.clock();
    const stamp = new Date(nowMs).toISOString();
    const findings: Finding[] = [];
    this.latest.clear();
    for (const agent of this.runtime.tree.all()) {
      if (!isActive(agent.state)) continue;
      agent.health.last_check = stamp;
      agent.health.token_rate = tokensInLastHour(agent, nowMs);
      const found = this.check(agent, PERIODIC_CHECKS, nowMs, stamp);
      if (found.length > 0) {
        this.latest.set(agent.path, found);
        findings.push(...found);
      }
    }
    return findings;
  }

  /** The findings of the latest pass for one agent (for the SSE heartbeat). */
  latestFor(path: string): Finding[] {
    return this.latest.get(path) ?? [];
  }

  /** Budget enforcement right after a model call: true when the agent was suspended and must not call again. */
  afterModelCall(agent: AgentRecord): boolean {
    const nowMs = this.runtime.clock();
    return this.check(agent, [...CALL_CHECKS, this.subtreeCheck(NO_CALL)], nowMs, new Date(nowMs).toISOString()).some((f) => f.action === 'suspend');
  }

  /**
   * Subtree budgets right before a model call (never during one): true when the call would cross the subtree budget
   * of the agent or an ancestor, or one is already spent; the agent is then suspended budget_exceeded, naming whose
   * budget it is. Costs O(depth). `promptTokens` is the context gauge's estimate of the prompt about to be sent.
   */
  beforeModelCall(agent: AgentRecord, promptTokens: number): boolean {
    const call = this.estimateCall(agent, promptTokens);
    if (!subtreeBudget(selfAndAncestors(this.runtime.tree, agent), call)) return false;
    const nowMs = this.runtime.clock();
    return this.check(agent, [this.subtreeCheck(call)], nowMs, new Date(nowMs).toISOString()).length > 0;
  }

  /**
   * The prompt at the uncached input price (cache reads would cost less, writes a little more) plus a reply as long as
   * the agent's replies have been on average (0 before its first). A model without a price estimates $0.
   */
  estimateCall(agent: AgentRecord, promptTokens: number): CallEstimate {
    const output = agent.turnCount > 0 ? Math.round((agent.health.output_tokens ?? 0) / agent.turnCount) : 0;
    const price = this.tables.prices?.priceOf(agent.spec.model) ?? null;
    const costUsd = price ? (promptTokens * price.input + output * price.output) / 1_000_000 : 0;
    return { tokens: promptTokens + output, costUsd };
  }

  private subtreeCheck(call: CallEstimate): Check {
    return (agent) => subtreeBudget(selfAndAncestors(this.runtime.tree, agent), call);
  }

  /**
   * What a pass would do to every agent of the subtree at `path` (the whole tree when null), and why, changing nothing:
   * the same checks in the same order as runPass, plus what each agent's next model call would meet.
   */
  dryRun(path: string | null): DryRunEntry[] {
    const roots = path === null ? [...this.runtime.tree.roots.values()] : [this.runtime.get(path)];
    return dryRunOf(roots, this.runtime.clock(), {
      periodic: PERIODIC_CHECKS,
      nextCall: this.subtreeCheck(NO_CALL),
      windowOf: (model) => this.tables.windows?.windowOf(model) ?? null,
    });
  }

  /** Drift and coherence, right after the judge scored the agent. */
  afterAssessment(agent: AgentRecord): boolean {
    const nowMs = this.runtime.clock();
    return this.check(agent, [coherence, drift], nowMs, new Date(nowMs).toISOString()).some((f) => f.action === 'suspend');
  }

  /**
   * Loop detection on each tool call: the first loop found is a warning, the next (the agent carried on) suspends
   * it with `loop_detected`. Tools in `policy.repeatable_tools` are left out. True when the agent was suspended.
   */
  afterToolCall(agent: AgentRecord, name: string, input: unknown): boolean {
    if (agent.policy.repeatable_tools.includes(name)) return false;
    const calls = agent.recentToolCalls;
    calls.push(toolSignature(name, input));
    if (calls.length > TOOL_HISTORY) calls.splice(0, calls.length - TOOL_HISTORY);
    const period = loopPeriod(calls);
    if (period === 0) return false;
    agent.health.loops_detected += 1;
    const what = period === 1 ? `${name} called 3+ times in a row with the same input` : `a cycle of ${period} tool calls repeated 3 times`;
    const loopCheck: Check = () =>
      agent.loopWarnings === 0
        ? { kind: 'loop', action: 'warn', detail: `${what}; it will be suspended if it continues` }
        : { kind: 'loop', action: 'suspend', reason: 'loop_detected', detail: `${what}, after a warning` };
    const nowMs = this.runtime.clock();
    const [finding] = this.check(agent, [loopCheck], nowMs, new Date(nowMs).toISOString());
    agent.loopWarnings += 1;
    return finding?.action === 'suspend';
  }

  /** Runs checks until the first suspend, applying each finding. */
  private check(agent: AgentRecord, checks: readonly Check[], nowMs: number, stamp: string): Finding[] {
    const out: Finding[] = [];
    for (const check of checks) {
      const draft = check(agent, nowMs);
      if (!draft) continue;
      out.push(this.apply(agent, draft, stamp));
      if (draft.action === 'suspend') break;
    }
    return out;
  }

  private apply(agent: AgentRecord, draft: FindingDraft, timestamp: string): Finding {
    const finding: Finding = { path: agent.path, timestamp, ...draft };
    this.runtime.emit(agent, 'oversight', { kind: finding.kind, action: finding.action, detail: finding.detail });
    if (finding.action === 'suspend' && finding.reason && isActive(agent.state)) {
      this.runtime.suspend(agent.path, finding.reason, finding.detail, { by: 'oversight' });
    } else {
      this.runtime.save(agent);
    }
    return finding;
  }
}

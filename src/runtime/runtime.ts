import { newAgentRecord, transition, type AgentRecord, type Checkpoint, type InboxItem, type TurnJson } from '../domain/agent.js';
import { conflict, notFound, policyViolation, queueFull } from '../domain/errors.js';
import { LIMITS } from '../domain/limits.js';
import { policySchema, type AgentPolicy, type AgentSpec, type MessageBody, type SpawnBody, type SuspendReason } from '../domain/schemas.js';
import { isActive, isLive, type AgentState } from '../domain/states.js';
import type { ScopeQuotas } from '../domain/scope-quota.js';
import { AgentTree } from '../domain/tree.js';
import type { EventBus } from '../events/bus.js';
import type { HistoryPage, HistoryRow, Store } from '../store/store.js';
import { ContextKeeper } from './context.js';
import { idleDriver, type AgentDriver } from './driver.js';
import { actorData, type Actor, type RestartOptions } from './actor.js';
import { keptRestartTimes, restartsCounted } from '../supervision/decide.js';
import { idFromGoal } from './ids.js';
import { checkNoLooserRules } from '../domain/approval-rules.js';

export type { Actor, RestartOptions };

export interface RuntimeDeps {
  bus: EventBus;
  store: Store;
  clock?: () => number;
  /** Extra checks of a spec at spawn (known tools, a valid schedule); throws a domain error. */
  validateSpec?: (spec: AgentSpec) => void;
  /** The most agents the tree may hold, dead ones included (AUTON_MAX_AGENTS). */
  maxAgents?: number;
  /** Per-scope agent quotas (quota=N on scoped API keys), checked at every spawn and fork. */
  quotas?: ScopeQuotas;
}

/**
 * The control plane: every operation on the tree goes through here. It decides nothing about legality itself
 * (the transition table and the tree's limits do), records an event for every change, queues it for the store,
 * and tells the driver to start, wake or halt work.
 */
/** The leases on root subtrees (src/cluster/node.ts), as the runtime needs them to create roots. */
export interface RootLeases {
  /** Throws (a 503) unless this daemon holds the lease on the root `id`. */
  check(id: string): void;
  /** Takes the lease on the new root `id` (a fork of a root), or throws. */
  claim(id: string): Promise<void>;
}

export class Runtime {
  readonly tree = new AgentTree();
  readonly bus: EventBus;
  readonly store: Store;
  readonly clock: () => number;
  driver: AgentDriver = idleDriver;
  private readonly validateSpec: (spec: AgentSpec) => void;
  private readonly maxAgents: number;
  private readonly quotas: ScopeQuotas | undefined;
  private readonly context: ContextKeeper;
  /** Several daemons on one database: a root may be created only under a lease this daemon holds. */
  roots: RootLeases | null = null;

  constructor(deps: RuntimeDeps) {
    this.bus = deps.bus;
    this.store = deps.store;
    this.context = new ContextKeeper(deps.store);
    this.clock = deps.clock ?? Date.now;
    this.validateSpec = deps.validateSpec ?? (() => {});
    this.maxAgents = deps.maxAgents ?? 10_000;
    this.quotas = deps.quotas;
  }

  get(path: string): AgentRecord {
    return this.tree.get(path);
  }

  emit(agent: AgentRecord, type: string, data: Record<string, unknown> = {}): void {
    this.bus.publish(agent.path, type, data);
  }

  save(agent: AgentRecord): void {
    this.store.saveAgent(agent);
  }

  /**
   * Refuses an operation before it changes anything while the store cannot write (a 503): an operation either
   * happens whole, in memory and then on disk, or not at all. Oversight and supervision still act (a suspend
   * for a budget is safer made than refused); their writes wait in the queue with the rest.
   */
  private admit(actor: Actor): void {
    if (actor.by === 'oversight' || actor.by === 'supervision') return;
    this.store.assertWritable();
  }

  /**
   * Starts the agent's loop, once its context is in memory (an agent restored idle reads it when first woken).
   * Not for a record no longer in the tree (purged, or its subtree moved to another daemon): a timer set before
   * must not start it here.
   */
  activate(agent: AgentRecord): void {
    if (this.tree.find(agent.path) !== agent) return;
    if (agent.contextLoaded) this.driver.activate(agent);
    else this.loadContextThen(agent, () => this.driver.activate(agent));
  }

  /** Wakes the agent's loop (new messages, guidance, a schedule), once its context is in memory. */
  wake(agent: AgentRecord): void {
    if (this.tree.find(agent.path) !== agent) return;
    if (agent.contextLoaded) this.driver.wake(agent);
    else this.loadContextThen(agent, () => this.driver.wake(agent));
  }

  private loadContextThen(agent: AgentRecord, then: () => void): void {
    this.store.agentContext(agent).then((rows) => {
      if (this.tree.find(agent.path) !== agent) return; // purged meanwhile
      if (!agent.contextLoaded) this.context.load(agent, rows); // a restart meanwhile set a new context
      then();
    }, (error: unknown) => {
      this.emit(agent, 'context_unavailable', { detail: error instanceof Error ? error.message : String(error) });
    });
  }

  /** Moves an agent to a new state (legal per the table, or a conflict), records and saves it. */
  move(agent: AgentRecord, to: AgentState, data: Record<string, unknown> = {}): void {
    const from = transition(agent, to);
    if (to === 'terminating') this.tree.departing(agent);
    this.emit(agent, 'state_change', { from, to, ...data });
    this.save(agent);
  }

  spawn(parentPath: string | null, body: SpawnBody, actor: Actor = {}): AgentRecord {
    this.admit(actor);
    this.validateSpec(body.spec);
    // A child's approval rules may tighten what it inherits, never loosen it (a 400 naming the rule).
    if (parentPath !== null && body.policy) checkNoLooserRules(body.policy.approvals, this.tree.get(parentPath), (a) => (a.parentPath === null ? undefined : this.tree.find(a.parentPath)));
    const id = body.id ?? this.tree.uniqueId(parentPath, idFromGoal(body.spec.goal));
    if (parentPath === null) this.roots?.check(id);
    return this.create(parentPath, id, body.spec, body.policy ?? policySchema.parse({}), null, actor);
  }

  /** Checks the limits, inserts a new agent, records it and starts it; `from` seeds it from a checkpoint (fork). */
  private create(
    parentPath: string | null, id: string, spec: AgentSpec, policy: AgentPolicy,
    from: { source: AgentRecord; checkpoint: Checkpoint; rows: HistoryRow[] } | null, actor: Actor,
  ): AgentRecord {
    const parent = this.tree.checkSpawn(parentPath, id);
    this.quotas?.checkSpawn(this.tree, parentPath === null ? id : `${parentPath}/${id}`);
    if (this.tree.size >= this.maxAgents) {
      throw policyViolation(`the tree already holds ${this.tree.size} agents (AUTON_MAX_AGENTS is ${this.maxAgents}); purge dead ones first`);
    }
    const agent = newAgentRecord({ id, parentPath, depth: parent ? parent.depth + 1 : 0, spec, policy, nowMs: this.clock() });
    this.tree.insert(agent);
    if (from) {
      this.context.replaceWith(agent, from.rows);
      agent.turnCount = from.checkpoint.turns;
      agent.forkedFrom = { path: from.source.path, checkpoint: from.checkpoint.id };
    }
    this.emit(agent, 'spawned', { spec, policy, ...(agent.forkedFrom ? { forked_from: agent.forkedFrom } : {}), ...actorData(actor) });
    this.move(agent, 'running');
    this.activate(agent);
    return agent;
  }

  /** Terminates an agent and its whole subtree, children first; `purge` also removes them from the tree. */
  terminate(path: string, options: { purge?: boolean } & Actor = {}): AgentRecord {
    const agent = this.get(path);
    if (agent.state === 'dead' && !options.purge) throw conflict(`agent ${path} is already dead`);
    this.admit(options);
    for (const node of this.tree.postOrder(agent)) {
      if (node.state === 'dead') continue;
      this.driver.halt(node);
      this.move(node, 'terminating', actorData(options));
      node.stoppedAtMs = this.clock();
      this.move(node, 'dead');
      this.emit(node, 'terminated', node === agent ? actorData(options) : { cascade_from: path });
    }
    if (options.purge) {
      for (const node of this.tree.postOrder(agent)) {
        this.emit(node, 'purged', node === agent ? actorData(options) : { cascade_from: path });
        this.store.deleteAgent(node.path);
      }
      this.tree.remove(agent);
    }
    return agent;
  }

  /** Queues operator guidance for the agent's next model call (the seed's "correct"). */
  guide(path: string, text: string, actor: Actor = {}): AgentRecord {
    const agent = this.get(path);
    this.admit(actor);
    if (!isActive(agent.state)) throw conflict(`agent ${path} is ${agent.state}; guidance goes to a running or idle agent (resume a suspended one with {"guidance"})`);
    this.enqueue(agent, { kind: 'guidance', text });
    // During a restart back-off (`spawning`) the guidance simply waits for the agent to start.
    if (agent.state !== 'correcting' && agent.state !== 'spawning') this.move(agent, 'correcting');
    this.emit(agent, 'correction', { guidance: text, ...actorData(actor) });
    this.wake(agent);
    return agent;
  }

  message(path: string, body: MessageBody, from?: string, actor: Actor = {}): AgentRecord {
    const agent = this.get(path);
    if (!isLive(agent.state)) throw conflict(`agent ${path} is ${agent.state}; it cannot receive messages`);
    this.admit(actor);
    const item: InboxItem = { kind: 'message', content: body.content };
    if (body.channel) item.channel = body.channel;
    if (body.kind) item.messageKind = body.kind;
    if (body.metadata) item.metadata = body.metadata;
    if (from) item.from = from;
    this.enqueue(agent, item);
    this.emit(agent, 'message', { content: body.content, channel: body.channel ?? null, kind: body.kind ?? null, from: from ?? null, ...actorData(actor) });
    if (isActive(agent.state) && agent.state !== 'spawning') this.wake(agent);
    return agent;
  }

  suspend(path: string, reason: SuspendReason, detail?: string, actor: Actor = {}): AgentRecord {
    const agent = this.get(path);
    if (agent.state === 'suspended') throw conflict(`agent ${path} is already suspended (${agent.suspendReason})`);
    this.admit(actor);
    const from = transition(agent, 'suspended'); // a conflict for dead/terminating, before anything changes
    agent.suspendReason = reason;
    if (reason === 'execution_error' && detail) agent.errorMessage = detail;
    this.driver.halt(agent);
    this.emit(agent, 'state_change', { from, to: 'suspended', reason });
    this.emit(agent, 'suspended', { reason, detail: detail ?? null, ...actorData(actor) });
    this.save(agent);
    return agent;
  }

  resume(path: string, guidance?: string, actor: Actor = {}): AgentRecord {
    const agent = this.get(path);
    if (agent.state !== 'suspended') throw conflict(`agent ${path} is ${agent.state}; only a suspended agent can be resumed`);
    this.admit(actor);
    if (guidance) this.enqueue(agent, { kind: 'guidance', text: guidance });
    agent.loopWarnings = 0;
    agent.recentToolCalls = [];
    this.move(agent, 'running', actorData(actor));
    this.emit(agent, 'resumed', { guidance: guidance ?? null, ...actorData(actor) });
    this.activate(agent);
    return agent;
  }

  checkpoint(path: string, label?: string, actor: Actor = {}, cut?: string): Checkpoint {
    const agent = this.get(path);
    this.admit(actor);
    agent.checkpointCount += 1;
    const checkpoint: Checkpoint = {
      id: `cp-${agent.checkpointCount}`,
      path,
      timestamp: new Date(this.clock()).toISOString(),
      state: agent.state,
      turns: agent.turnCount,
      context: this.context.ref(agent),
      health: { ...agent.health },
    };
    if (label) checkpoint.label = label;
    if (cut) checkpoint.cut = cut;
    this.store.saveCheckpoint(checkpoint);
    this.emit(agent, 'checkpoint', { checkpoint: checkpoint.id, turns: checkpoint.turns, label: label ?? null, ...(cut ? { cut } : {}), ...actorData(actor) });
    this.save(agent);
    return checkpoint;
  }

  checkpoints(path: string): Promise<Checkpoint[]> {
    this.get(path);
    return this.store.listCheckpoints(path);
  }

  async findCheckpoint(agent: AgentRecord, id?: string): Promise<Checkpoint | undefined> {
    if (id) {
      const checkpoint = await this.store.loadCheckpoint(agent.path, id);
      if (!checkpoint) throw notFound(`checkpoint ${id} of ${agent.path}`);
      return checkpoint;
    }
    return (await this.store.listCheckpoints(agent.path)).at(-1);
  }

  /** A page of the agent's whole stored history (or of the history up to one of its checkpoints). */
  async history(path: string, page: HistoryPage, checkpointId?: string): Promise<HistoryRow[]> {
    const agent = this.get(path);
    if (checkpointId === undefined) return this.store.history(path, page);
    const checkpoint = await this.findCheckpoint(agent, checkpointId);
    if (!checkpoint?.context) return pageOf(await this.store.checkpointContext(checkpoint!), page); // a legacy checkpoint
    return this.store.history(path, { ...page, beforeSeq: checkpoint.context.toSeq });
  }

  /** A new sibling with the same spec and policy, continuing from a checkpoint's context. */
  async fork(path: string, options: { id?: string; checkpoint?: string } = {}, actor: Actor = {}): Promise<AgentRecord> {
    const source = this.get(path);
    this.admit(actor);
    const checkpoint = await this.findCheckpoint(source, options.checkpoint);
    if (!checkpoint) throw policyViolation(`agent ${path} has no checkpoint to fork from; POST ${path}/checkpoint first`);
    const rows = await this.store.checkpointContext(checkpoint);
    this.admit(actor); // the store may have failed while the checkpoint was read
    const id = options.id ?? this.tree.uniqueId(source.parentPath, `${source.id}-fork`);
    if (source.parentPath === null && this.roots) {
      this.tree.checkSpawn(null, id); // a 409 here before a lease is taken for a name in use
      await this.roots.claim(id);
      this.admit(actor);
    }
    return this.forkInto(source.parentPath, id, source, checkpoint, rows, actor);
  }

  /** A copy of `source` as `id` under `parentPath`, continuing from `checkpoint` (whose context `rows` were read). */
  forkInto(parentPath: string | null, id: string, source: AgentRecord, checkpoint: Checkpoint, rows: HistoryRow[], actor: Actor = {}): AgentRecord {
    const forked = this.create(parentPath, id, structuredClone(source.spec), structuredClone(source.policy), { source, checkpoint, rows }, actor);
    this.emit(source, 'forked', { to: forked.path, checkpoint: checkpoint.id, ...actorData(actor) });
    return forked;
  }

  /**
   * Restarts an agent from its latest checkpoint (or fresh without one), counting against max_restarts.
   * Used by operators and by supervision alike.
   */
  async restart(path: string, options: Actor & RestartOptions = {}): Promise<AgentRecord> {
    const before = this.get(path);
    this.admit(options);
    const checkpoint = await this.findCheckpoint(before);
    const rows = checkpoint ? await this.store.checkpointContext(checkpoint) : [];
    // Read first, then decide and change everything in one go: the agent may have changed while reading.
    const agent = this.get(path);
    if (agent !== before) throw conflict(`agent ${path} was replaced while restarting; try again`);
    this.admit(options);
    // Only an agent waiting out a supervision back-off is seen in `spawning`: an operator's restart means "now".
    if (agent.state === 'spawning' && options.by !== 'supervision') return this.endBackoff(agent, options);
    const counted = restartsCounted(agent, this.clock());
    if (counted >= agent.policy.max_restarts) {
      const within = agent.policy.restart_window_seconds ? ` in the last ${agent.policy.restart_window_seconds} s` : '';
      throw policyViolation(`max_restarts: ${path} has been restarted ${counted} of ${agent.policy.max_restarts} times${within}`);
    }
    this.driver.halt(agent);
    this.move(agent, 'spawning', actorData(options));
    this.context.replaceWith(agent, rows);
    agent.turnCount = checkpoint ? checkpoint.turns : 0;
    // Undelivered messages and guidance are kept: they arrived after the checkpoint and still need answering.
    agent.recentToolCalls = [];
    agent.loopWarnings = 0;
    agent.restartCount += 1;
    agent.restartTimesMs = keptRestartTimes(agent.restartTimesMs, this.clock(), agent.policy.max_restarts);
    agent.startedAtMs = this.clock();
    this.emit(agent, 'restarted', {
      restart_count: agent.restartCount, from_checkpoint: checkpoint?.id ?? null, cause: options.cause ?? 'operator',
      delay_ms: options.delayMs ?? 0, ...actorData(options),
    });
    if (options.delayMs && options.schedule) {
      agent.restartAtMs = this.clock() + options.delayMs;
      options.schedule(() => this.finishRestart(agent), options.delayMs);
    } else {
      this.finishRestart(agent);
    }
    this.save(agent);
    return agent;
  }

  /** The end of a restart's back-off (also after a daemon restart found one pending): the agent runs. */
  finishRestart(agent: AgentRecord, data: Record<string, unknown> = {}): void {
    if (agent.state !== 'spawning' || this.tree.find(agent.path) !== agent) return; // suspended or killed meanwhile
    agent.restartAtMs = null;
    this.move(agent, 'running', data);
    this.activate(agent);
  }

  /** Starts at once an agent whose restart waits out a back-off (that restart is already counted and rolled back). */
  private endBackoff(agent: AgentRecord, options: Actor): AgentRecord {
    this.emit(agent, 'restarted', {
      restart_count: agent.restartCount, cause: 'operator', delay_ms: 0, backoff_skipped: true, ...actorData(options),
    });
    this.finishRestart(agent, actorData(options)); // the pending start then finds it no longer `spawning`
    return agent;
  }

  /**
   * Appends turns to the agent's conversation and queues them for the store. The one way a turn is added: the
   * runner never pushes to `agent.conversation` itself, so the store can write each turn as a row of its own.
   */
  appendTurns(agent: AgentRecord, ...turns: TurnJson[]): void {
    this.context.append(agent, 'turn', turns);
    this.save(agent);
  }

  /**
   * The context becomes `[summary, ...conversation.slice(keepFrom)]`. The stored history keeps every turn and
   * gains the summary as a row of its own (transcripts mark it); emits `compacted` with `info` merged in.
   */
  compactConversation(agent: AgentRecord, summary: TurnJson, keepFrom: number, info: Record<string, unknown>): void {
    this.context.compact(agent, summary, keepFrom);
    this.emit(agent, 'compacted', { summary_seq: agent.contextSummarySeq, kept_turns: agent.conversation.length - 1, ...info });
    this.save(agent);
  }

  /**
   * Replaces the last turn (an unanswered user turn that gains waiting messages). Kept separate from
   * appendTurns so the store can write it as a replacement of that one row, never a rewrite of the history.
   */
  replaceLastTurn(agent: AgentRecord, turn: TurnJson): void {
    this.context.replaceLast(agent, turn);
    this.save(agent);
  }

  /** Takes every waiting inbox item (oldest first) for the next model call; guidance is recorded as delivered. */
  takeInbox(agent: AgentRecord): InboxItem[] {
    if (agent.inbox.length === 0) return [];
    // Removed from the store in the same commit as the turn that carries them (the caller appends it now).
    const items = this.context.takeInbox(agent);
    for (const item of items) {
      if (item.kind === 'guidance') this.emit(agent, 'correction_delivered', { guidance: item.text });
    }
    this.save(agent);
    return items;
  }

  /** Adds an item to the agent's inbox (a 429 past LIMITS.inboxMaxItems) and queues it for the store. */
  enqueue(agent: AgentRecord, item: InboxItem): void {
    if (agent.inbox.length >= LIMITS.inboxMaxItems) {
      throw queueFull(`agent ${agent.path} already has ${agent.inbox.length} undelivered messages`);
    }
    this.context.enqueue(agent, item);
    this.save(agent);
  }
}

/** A page of rows held in memory (a legacy checkpoint's inline turns). */
function pageOf(rows: HistoryRow[], page: HistoryPage): HistoryRow[] {
  const before = page.beforeSeq ?? Number.MAX_SAFE_INTEGER;
  if (page.order === 'asc') return rows.filter((r) => r.seq > (page.after ?? -1) && r.seq < before).slice(0, page.limit);
  const end = Math.min(page.after ?? before, before);
  return rows.filter((r) => r.seq < end).reverse().slice(0, page.limit);
}

import type { AgentHealth, AgentPolicy, AgentSpec, SuspendReason } from './schemas.js';
import { canTransition, type AgentState } from './states.js';
import { conflict } from './errors.js';
import { ContextTurns } from './context-turns.js';

/** The in-memory record of one agent. Timestamps are epoch milliseconds; JSON rendering is in node-json.ts. */
export interface AgentRecord {
  id: string;
  path: string;
  parentPath: string | null;
  depth: number; // 0 for a root
  state: AgentState;
  spec: AgentSpec;
  policy: AgentPolicy;
  health: AgentHealth;
  createdAtMs: number;
  startedAtMs: number | null;
  restartCount: number;
  checkpointCount: number;
  suspendReason: SuspendReason | null;
  errorMessage: string | null;
  forkedFrom: { path: string; checkpoint: string } | null;
  /** When it reached `dead` (uptime stops there). */
  stoppedAtMs: number | null;
  /**
   * When a restart waiting out its supervision back-off is due to start the agent. Stored, so a daemon restarted
   * in the meantime waits for the rest of it rather than starting the agent at once.
   */
  restartAtMs: number | null;
  /** Messages and guidance waiting for the agent's next model call, oldest first. */
  inbox: InboxItem[];
  /** The next inbox item's number in the store (items are rows of their own; taking the inbox removes them all). */
  inboxNextSeq: number;
  /**
   * The agent's context: exactly the turns its next prompt is built from, each as its JSON text (opaque to the
   * domain). After a compaction the first is a user turn holding the summary. Older turns live in the store only.
   */
  conversation: ContextTurns;
  /** When supervision or an operator restarted it, newest last (the latest few), for policy.restart_window_seconds. */
  restartTimesMs?: number[];
  /**
   * Bumped whenever the context is replaced rather than appended to (compaction, restart, fork, a replaced last
   * turn): the context gauge's cue to estimate it afresh. In memory only; 0 after a load.
   */
  conversationEpoch: number;
  /** The history row (seq) of each context turn, parallel to `conversation`; not stored, rebuilt at load. */
  contextSeqs: number[];
  /**
   * False while an agent restored from the store has not had its context read back: at start only the agents
   * with work to do are read, the rest when first woken (start-up stays proportional to the agents, not turns).
   */
  contextLoaded: boolean;
  /** How many history rows the agent has (the next row's seq); rows are appended, never rewritten shorter. */
  historyLength: number;
  /** The seq of the first ordinary turn of the context (turns from here on, summaries aside, are the context). */
  contextFromSeq: number;
  /** The seq of the compaction summary that opens the context, or null. */
  contextSummarySeq: number | null;
  /** Completed model calls since the agent was created. */
  turnCount: number;
  /** Signatures (`tool:input`) of the most recent tool calls, newest last, for loop detection. */
  recentToolCalls: string[];
  /** Loop warnings given since the last suspend/resume; the next detection suspends. */
  loopWarnings: number;
  /** Tokens used, as (time, tokens) samples over the last hour, for `health.token_rate`. */
  tokenSamples: Array<{ atMs: number; tokens: number }>;
  /** Children by id, in spawn order. */
  children: Map<string, AgentRecord>;
  /** The approval a tool call of this agent waits for (README "Approvals"), or null. */
  waitingFor?: { approval: string; tool: string } | null;
  /** Tools a person allowed for good (`remember`): for this agent, or (subtree) for it and its descendants. */
  approvalGrants?: Array<{ tool: string; subtree: boolean }>;
  /** spawn_child calls refused for max_depth in the current wake (not stored). */
  depthRefusals?: number;
}

export type InboxItem =
  | { kind: 'message'; content: string; channel?: string; messageKind?: string; metadata?: Record<string, unknown>; from?: string }
  | { kind: 'guidance'; text: string };

/**
 * One Messages API turn (`{"role":…,"content":…}`) as JSON text. A turn never changes once written, and is only
 * ever sent to the model or stored, so it is kept as the text both need: a request body is a join of turns, a
 * checkpoint shares them, and an idle agent holds strings rather than object graphs (bench figures 6 and 7).
 */
export type TurnJson = string;

/** A turn parsed back, for the few places that look inside one. */
export interface ConversationTurn {
  role: 'user' | 'assistant';
  content: unknown;
}

export function turnJson(turn: ConversationTurn): TurnJson {
  return JSON.stringify(turn);
}

export function parseTurn(json: TurnJson): ConversationTurn {
  return JSON.parse(json) as ConversationTurn;
}

/** One row of an agent's stored history: a turn, or a compaction summary (which opens a context). */
export type HistoryKind = 'turn' | 'summary';

/** Where a context sits in an agent's history: its summary row, and the turns from `fromSeq` up to `toSeq`. */
export interface ContextRef {
  summarySeq: number | null;
  fromSeq: number;
  /** Rows from here on were written after the checkpoint. */
  toSeq: number;
}

export interface Checkpoint {
  id: string;
  path: string;
  timestamp: string;
  label?: string;
  state: string;
  turns: number;
  /** The context it restores, by reference into the agent's history (the history itself is never rewritten). */
  context?: ContextRef;
  /** Set on every checkpoint of one subtree checkpoint (one consistent cut), so a subtree fork finds its parts. */
  cut?: string;
  /** Checkpoints written before histories were kept as rows carry their turns inline. */
  conversation?: TurnJson[];
  health: AgentHealth;
}

export function freshHealth(): AgentHealth {
  return {
    coherence: 1, drift: 0, token_rate: 0, tokens_total: 0, input_tokens: 0, output_tokens: 0, cache_write_5m_tokens: 0,
    cache_write_1h_tokens: 0, cache_read_tokens: 0, cost_usd: 0, context_tokens: 0, loops_detected: 0, last_check: null, subtree_tokens_total: 0,
    subtree_cost_usd: 0,
  };
}

export function joinPath(parentPath: string | null, id: string): string {
  return parentPath === null ? id : `${parentPath}/${id}`;
}

export function newAgentRecord(args: {
  id: string; parentPath: string | null; depth: number; spec: AgentSpec; policy: AgentPolicy; nowMs: number;
}): AgentRecord {
  return {
    id: args.id,
    path: joinPath(args.parentPath, args.id),
    parentPath: args.parentPath,
    depth: args.depth,
    state: 'spawning',
    spec: args.spec,
    policy: args.policy,
    health: freshHealth(),
    createdAtMs: args.nowMs,
    startedAtMs: args.nowMs,
    restartCount: 0,
    checkpointCount: 0,
    suspendReason: null,
    errorMessage: null,
    forkedFrom: null,
    stoppedAtMs: null,
    restartAtMs: null,
    inbox: [],
    inboxNextSeq: 0,
    conversation: new ContextTurns(),
    contextSeqs: [],
    contextLoaded: true,
    conversationEpoch: 0,
    historyLength: 0,
    contextFromSeq: 0,
    contextSummarySeq: null,
    turnCount: 0,
    recentToolCalls: [],
    loopWarnings: 0,
    tokenSamples: [],
    children: new Map(),
  };
}

/** The only way a record changes state: checks the transition table, throws a conflict if illegal. */
export function transition(agent: AgentRecord, to: AgentState): AgentState {
  const from = agent.state;
  if (!canTransition(from, to)) {
    throw conflict(`agent ${agent.path} is ${describeState(agent)}; it cannot become ${to}`);
  }
  agent.state = to;
  if (to !== 'suspended') {
    agent.suspendReason = null;
    if (to !== 'dead' && to !== 'terminating') agent.errorMessage = null;
  }
  return from;
}

export function describeState(agent: AgentRecord): string {
  return agent.state === 'suspended' && agent.suspendReason ? `suspended (${agent.suspendReason})` : agent.state;
}

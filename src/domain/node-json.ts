import type { AgentRecord } from './agent.js';
import type { ByteWriter } from './byte-writer.js';
import type { AgentHealth, AgentNodeJson, AgentPolicy, AgentSpec } from './schemas.js';

/** How much of a subtree to render: `depth` levels of children (Infinity for all). */
export interface RenderOptions {
  depth: number;
}

/** The node as the protocol shows it, children nested. Defaults are already filled in on spec and policy. */
export function toNodeJson(agent: AgentRecord, nowMs: number, options: RenderOptions = { depth: Infinity }): AgentNodeJson {
  const end = agent.stoppedAtMs ?? nowMs;
  const node: AgentNodeJson = {
    id: agent.id,
    path: agent.path,
    state: agent.state,
    spec: agent.spec,
    policy: agent.policy,
    health: agent.health,
    created_at: new Date(agent.createdAtMs).toISOString(),
    started_at: agent.startedAtMs === null ? null : new Date(agent.startedAtMs).toISOString(),
    uptime: agent.startedAtMs === null ? 0 : Math.max(0, Math.round((end - agent.startedAtMs) / 100) / 10),
    restart_count: agent.restartCount,
    checkpoints: agent.checkpointCount,
    children: [],
  };
  if (agent.suspendReason) node.suspend_reason = agent.suspendReason;
  if (agent.errorMessage) node.error_message = agent.errorMessage;
  if (agent.forkedFrom) node.forked_from = agent.forkedFrom;
  if (agent.waitingFor) node.waiting_for = agent.waitingFor;
  if (options.depth > 0) {
    const next = { depth: options.depth - 1 };
    for (const child of agent.children.values()) node.children.push(toNodeJson(child, nowMs, next));
  } else if (agent.children.size > 0) {
    node.children_count = agent.children.size;
  }
  return node;
}

/**
 * The same node as JSON text, built directly. `toNodeJson` stays the reference; tests hold the two equal, and hold
 * `writeNode`'s bytes equal to this text's.
 */
export function renderNode(agent: AgentRecord, nowMs: number, depth = Infinity): string {
  return nodeText(agent, partsOf(agent), nowMs, depth);
}

function nodeText(agent: AgentRecord, parts: NodeParts, nowMs: number, depth: number): string {
  refresh(parts, agent);
  let out = parts.head + parts.middle + uptimeOf(agent, nowMs) + parts.tail;
  if (depth <= 0 && agent.children.size > 0) out += `,"children_count":${agent.children.size}`;
  out += ',"children":[';
  if (depth > 0) {
    let i = 0;
    for (const child of agent.children.values()) {
      if (i > 0) out += ',';
      out += nodeText(child, kidParts(parts, i, child), nowMs, depth - 1);
      i++;
    }
    if (parts.kids.length > i) parts.kids.length = i;
  }
  return `${out}]}`;
}

/**
 * `renderNode` written as UTF-8 bytes into `out`, for large answers (the whole tree): each node's fixed parts are
 * copied from bytes encoded once, so no large string is built, flattened and encoded on every read.
 */
export function writeNode(out: ByteWriter, agent: AgentRecord, nowMs: number, depth = Infinity): void {
  nodeBytes(out, agent, partsOf(agent), nowMs, depth);
}

function nodeBytes(out: ByteWriter, agent: AgentRecord, parts: NodeParts, nowMs: number, depth: number): void {
  refresh(parts, agent);
  out.bytes(parts.headBytes ??= Buffer.from(parts.head));
  out.bytes(parts.middleBytes ??= Buffer.from(parts.middle));
  if (agent.startedAtMs === null) out.tenths(0);
  else out.tenths(Math.max(0, Math.round(((agent.stoppedAtMs ?? nowMs) - agent.startedAtMs) / 100)));
  out.bytes(parts.tailBytes ??= Buffer.from(parts.tail));
  if (depth <= 0 && agent.children.size > 0) {
    out.bytes(CHILDREN_COUNT);
    out.tenths(agent.children.size * 10);
  }
  out.bytes(CHILDREN_OPEN);
  if (depth > 0) {
    let i = 0;
    for (const child of agent.children.values()) {
      if (i > 0) out.bytes(COMMA);
      nodeBytes(out, child, kidParts(parts, i, child), nowMs, depth - 1);
      i++;
    }
    if (parts.kids.length > i) parts.kids.length = i;
  }
  out.bytes(CHILDREN_CLOSE);
}

const CHILDREN_COUNT = Buffer.from(',"children_count":');
const CHILDREN_OPEN = Buffer.from(',"children":[');
const CHILDREN_CLOSE = Buffer.from(']}');
const COMMA = Buffer.from(',');

/**
 * Seconds since the agent last started, to a tenth; it stops at `dead`. The only part that moves with the clock.
 * (`writeNode` writes the same number from its tenths.)
 */
function uptimeOf(agent: AgentRecord, nowMs: number): string {
  if (agent.startedAtMs === null) return '0';
  const end = agent.stoppedAtMs ?? nowMs;
  return `${Math.max(0, Math.round((end - agent.startedAtMs) / 100) / 10)}`;
}

/**
 * A node's JSON but for its uptime and children, made from the record alone and kept per record in three segments:
 * `head` from `{"id":` to `"health":` (remade when the state changes), `middle` from the health to `"uptime":` (health
 * and start time) and `tail` from `,"restart_count":` to the last optional field. Each segment keeps the values it
 * was made from and is remade when one of them differs: the runtime changes records in place (state moves, health
 * updates, restarts) and tells no one, so a read compares a few fields instead of rebuilding ~700 bytes per node.
 * An oversight pass, which stamps every active agent's health, costs the next read only the health segments.
 * Spec and policy never change after spawn: their JSON is cached by identity below (the pino approach).
 */
class NodeParts {
  // head ('' state: not made yet)
  id = '';
  path = '';
  state: AgentRecord['state'] | '' = '';
  spec: AgentSpec | null = null;
  policy: AgentPolicy | null = null;
  head = '';
  headBytes: Buffer | null = null;
  // middle (null health: not made yet); the health object is updated in place, so its values are kept
  health: AgentHealth | null = null;
  coherence = 0;
  drift = 0;
  tokenRate = 0;
  tokensTotal = 0;
  inputTokens: number | undefined = 0;
  outputTokens: number | undefined = 0;
  cacheWrite5m: number | undefined = 0;
  cacheWrite1h: number | undefined = 0;
  cacheRead: number | undefined = 0;
  costUsd: number | null | undefined = 0;
  contextTokens: number | undefined = 0;
  loopsDetected = 0;
  lastCheck: string | null = null;
  subtreeTokens: number | undefined = 0;
  subtreeCost: number | undefined = 0;
  createdAtMs = 0;
  startedAtMs: number | null = null;
  middle = '';
  middleBytes: Buffer | null = null;
  // tail (-1: not made yet)
  restartCount = -1;
  checkpointCount = 0;
  suspendReason: AgentRecord['suspendReason'] = null;
  errorMessage: string | null = null;
  forkedFrom: AgentRecord['forkedFrom'] = null;
  forkedPath = '';
  forkedCheckpoint = '';
  waitingFor: AgentRecord['waitingFor'] = null;
  tail = '';
  tailBytes: Buffer | null = null;
  /**
   * The children's parts as of the last render, in order: a read walks these instead of looking every node up.
   * Only a guess (each is checked against its record like any parts), so a child removed or added costs a lookup.
   */
  kids: NodeParts[] = [];
}

/** Every health field, checked by the compiler: a field added to the schema must be compared in `partsOf` too. */
const HEALTH_KEYS = [
  'coherence', 'drift', 'token_rate', 'tokens_total', 'input_tokens', 'output_tokens', 'cache_write_5m_tokens',
  'cache_write_1h_tokens', 'cache_read_tokens', 'cost_usd', 'context_tokens', 'loops_detected', 'last_check',
  'subtree_tokens_total', 'subtree_cost_usd',
] as const satisfies ReadonlyArray<keyof AgentHealth>;
const allHealthKeys: [Exclude<keyof AgentHealth, (typeof HEALTH_KEYS)[number]>] extends [never] ? true : never = true;
void allHealthKeys;

const partsCache = new WeakMap<AgentRecord, NodeParts>();

function partsOf(agent: AgentRecord): NodeParts {
  let parts = partsCache.get(agent);
  if (parts === undefined) partsCache.set(agent, (parts = new NodeParts()));
  return parts;
}

/** The parts of the `i`th child: the same as last time if it is still there, else looked up (and kept). */
function kidParts(parts: NodeParts, i: number, child: AgentRecord): NodeParts {
  const kid = parts.kids[i];
  if (kid !== undefined && kid.id === child.id) return kid;
  return (parts.kids[i] = partsOf(child));
}

/** Remakes each segment whose record values changed since it was made. */
function refresh(parts: NodeParts, agent: AgentRecord): void {

  if (parts.state !== agent.state || parts.id !== agent.id || parts.path !== agent.path
    || parts.spec !== agent.spec || parts.policy !== agent.policy) {
    parts.state = agent.state;
    parts.id = agent.id;
    parts.path = agent.path;
    parts.spec = agent.spec;
    parts.policy = agent.policy;
    parts.head = `{"id":${JSON.stringify(agent.id)},"path":${JSON.stringify(agent.path)},"state":"${agent.state}"`
      + `,"spec":${cachedJson(agent.spec)},"policy":${cachedJson(agent.policy)},"health":`;
    parts.headBytes = null;
  }

  const health = agent.health;
  if (parts.health !== health || parts.coherence !== health.coherence || parts.drift !== health.drift
    || parts.tokenRate !== health.token_rate || parts.tokensTotal !== health.tokens_total
    || parts.inputTokens !== health.input_tokens || parts.outputTokens !== health.output_tokens
    || parts.cacheWrite5m !== health.cache_write_5m_tokens || parts.cacheWrite1h !== health.cache_write_1h_tokens
    || parts.cacheRead !== health.cache_read_tokens || parts.costUsd !== health.cost_usd || parts.contextTokens !== health.context_tokens
    || parts.loopsDetected !== health.loops_detected || parts.lastCheck !== health.last_check
    || parts.subtreeTokens !== health.subtree_tokens_total || parts.subtreeCost !== health.subtree_cost_usd
    || parts.createdAtMs !== agent.createdAtMs || parts.startedAtMs !== agent.startedAtMs) {
    parts.health = health;
    parts.coherence = health.coherence;
    parts.drift = health.drift;
    parts.tokenRate = health.token_rate;
    parts.tokensTotal = health.tokens_total;
    parts.inputTokens = health.input_tokens;
    parts.outputTokens = health.output_tokens;
    parts.cacheWrite5m = health.cache_write_5m_tokens;
    parts.cacheWrite1h = health.cache_write_1h_tokens;
    parts.cacheRead = health.cache_read_tokens;
    parts.costUsd = health.cost_usd;
    parts.contextTokens = health.context_tokens;
    parts.loopsDetected = health.loops_detected;
    parts.lastCheck = health.last_check;
    parts.subtreeTokens = health.subtree_tokens_total;
    parts.subtreeCost = health.subtree_cost_usd;
    parts.createdAtMs = agent.createdAtMs;
    parts.startedAtMs = agent.startedAtMs;
    parts.middle = `${JSON.stringify(health)},"created_at":"${isoTime(agent.createdAtMs)}"`
      + `,"started_at":${agent.startedAtMs === null ? 'null' : `"${isoTime(agent.startedAtMs)}"`},"uptime":`;
    parts.middleBytes = null;
  }

  const forked = agent.forkedFrom;
  if (parts.restartCount !== agent.restartCount || parts.checkpointCount !== agent.checkpointCount
    || parts.suspendReason !== agent.suspendReason || parts.errorMessage !== agent.errorMessage
    || parts.forkedFrom !== forked || parts.waitingFor !== (agent.waitingFor ?? null) || (forked !== null && (parts.forkedPath !== forked.path || parts.forkedCheckpoint !== forked.checkpoint))) {
    parts.restartCount = agent.restartCount;
    parts.checkpointCount = agent.checkpointCount;
    parts.suspendReason = agent.suspendReason;
    parts.errorMessage = agent.errorMessage;
    parts.forkedFrom = forked;
    parts.forkedPath = forked?.path ?? '';
    parts.forkedCheckpoint = forked?.checkpoint ?? '';
    parts.waitingFor = agent.waitingFor ?? null;
    let tail = `,"restart_count":${agent.restartCount},"checkpoints":${agent.checkpointCount}`;
    if (agent.suspendReason) tail += `,"suspend_reason":"${agent.suspendReason}"`;
    if (agent.errorMessage) tail += `,"error_message":${JSON.stringify(agent.errorMessage)}`;
    if (forked) tail += `,"forked_from":${JSON.stringify(forked)}`;
    if (agent.waitingFor) tail += `,"waiting_for":${JSON.stringify(agent.waitingFor)}`;
    parts.tail = tail;
    parts.tailBytes = null;
  }
}

const jsonCache = new WeakMap<object, string>();
function cachedJson(value: object): string {
  let json = jsonCache.get(value);
  if (json === undefined) jsonCache.set(value, (json = JSON.stringify(value)));
  return json;
}

const isoCache = new Map<number, string>();
/** created_at and started_at are rendered on every read; their ISO strings are kept (bounded). */
function isoTime(ms: number): string {
  let iso = isoCache.get(ms);
  if (iso === undefined) {
    if (isoCache.size > 50_000) isoCache.clear();
    isoCache.set(ms, (iso = new Date(ms).toISOString()));
  }
  return iso;
}

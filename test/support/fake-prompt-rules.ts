/**
 * What the fake Messages API checks and counts the way the real one does: a token estimate of a request, the
 * structural rules it refuses requests for (orphan tool_result, unanswered tool_use, empty turns, too many
 * breakpoints, a prompt past the window) and a prompt-cache simulation keyed on cache_control breakpoints.
 */
import { createHash } from 'node:crypto';
import type { MessagesRequestBody } from './fake-messages-api.js';

/** The fake's tokenizer: a quarter of the JSON text of each block (deterministic, roughly the real ratio). */
export const FAKE_CHARS_PER_TOKEN = 4;
/** The real API caches nothing shorter than this (1,024 to 4,096 by model). */
export const MIN_CACHEABLE_TOKENS = 1_024;
/** How far back from a breakpoint the real API looks for an earlier cache entry. */
const LOOKBACK_BLOCKS = 20;
const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;
type Ttl = keyof typeof TTL_MS;

interface Block {
  tokens: number;
  /** Hash of the prefix up to and including this block, cache_control left out. */
  hash: string;
  /** Set on a block carrying cache_control. */
  ttl: Ttl | null;
}

type Json = Record<string, unknown>;

function blocksOf(body: MessagesRequestBody): Block[] {
  const raw: Json[] = [];
  for (const tool of (body.tools ?? []) as unknown as Json[]) raw.push(tool);
  const system = body.system as unknown;
  if (typeof system === 'string') raw.push({ type: 'text', text: system });
  else if (Array.isArray(system)) raw.push(...(system as Json[]));
  for (const message of body.messages) {
    const content = message.content as unknown;
    if (typeof content === 'string') raw.push({ type: 'text', text: content, role: message.role });
    else for (const block of content as Json[]) raw.push({ ...block, role: message.role });
  }
  const out: Block[] = [];
  let prefix = createHash('sha1');
  let last = '';
  for (const block of raw) {
    const { cache_control, ...rest } = block;
    const text = JSON.stringify(rest);
    prefix = createHash('sha1').update(last).update(text);
    last = prefix.digest('hex');
    const ttl = cache_control ? ((cache_control as Json).ttl === '1h' ? '1h' : '5m') : null;
    out.push({ tokens: Math.ceil(text.length / FAKE_CHARS_PER_TOKEN), hash: last, ttl });
  }
  return out;
}

export function estimateRequestTokens(body: MessagesRequestBody): number {
  return blocksOf(body).reduce((sum, b) => sum + b.tokens, 0);
}

/** Why the real API would refuse this request (400 invalid_request_error), or null. */
export function refusal(body: MessagesRequestBody, windowTokens: number, blocks = blocksOf(body)): string | null {
  const messages = body.messages;
  if (messages.length === 0) return 'messages: at least one message is required';
  if (messages[0]!.role !== 'user') return 'messages.0.role: the first message must use the "user" role';
  const breakpoints = blocks.filter((b) => b.ttl !== null).length;
  if (breakpoints > 4) return `A maximum of 4 blocks with cache_control may be provided. Found ${breakpoints}.`;
  for (let i = 0; i < messages.length; i++) {
    const content = messages[i]!.content as unknown;
    const blocksHere = typeof content === 'string' ? [] : (content as Json[]);
    const empty = typeof content === 'string' ? content === '' : blocksHere.length === 0;
    if (empty && !(i === messages.length - 1 && messages[i]!.role === 'assistant')) {
      return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    }
    const prev = messages[i - 1];
    const asked = new Set(prev && prev.role === 'assistant' && typeof prev.content !== 'string'
      ? (prev.content as unknown as Json[]).flatMap((b) => (b.type === 'tool_use' ? [String(b.id)] : [])) : []);
    const answered = new Set<string>();
    for (const [j, block] of blocksHere.entries()) {
      if (block.type !== 'tool_result') continue;
      const id = String(block.tool_use_id);
      if (messages[i]!.role !== 'user' || !asked.has(id)) {
        return `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
      }
      answered.add(id);
    }
    if (i > 0 && asked.size > 0) {
      const missing = [...asked].filter((id) => !answered.has(id));
      if (missing.length > 0) return `messages.${i - 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
    }
  }
  const tokens = blocks.reduce((sum, b) => sum + b.tokens, 0);
  if (tokens > windowTokens) return `prompt is too long: ${tokens} tokens > ${windowTokens} maximum`;
  return null;
}

export interface CacheUsage {
  input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

/**
 * The prompt cache: prefixes remembered at each breakpoint for their TTL (refreshed on a hit). A request reads the
 * longest remembered prefix found within LOOKBACK_BLOCKS before any of its breakpoints, writes from there to its
 * last breakpoint (each stretch at the TTL of the breakpoint that ends it), and pays the rest as input.
 */
export class FakePromptCache {
  private readonly entries = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  clear(): void {
    this.entries.clear();
  }

  usage(blocks: Block[]): CacheUsage {
    const now = this.now();
    const cum: number[] = [];
    let total = 0;
    for (const b of blocks) cum.push((total += b.tokens));
    const live = (hash: string): boolean => (this.entries.get(hash) ?? 0) > now;
    let hit = -1;
    const breakpoints = blocks.flatMap((b, i) => (b.ttl !== null ? [i] : []));
    for (const bp of breakpoints) {
      for (let p = bp; p >= Math.max(0, bp - LOOKBACK_BLOCKS); p--) {
        if (p > hit && live(blocks[p]!.hash)) {
          hit = p;
          break;
        }
      }
    }
    const read = hit >= 0 ? cum[hit]! : 0;
    const written = { '5m': 0, '1h': 0 };
    let boundary = hit;
    for (const bp of breakpoints) {
      const ttl = blocks[bp]!.ttl!;
      if (cum[bp]! >= MIN_CACHEABLE_TOKENS) {
        if (bp > boundary) {
          written[ttl] += cum[bp]! - (boundary >= 0 ? cum[boundary]! : 0);
          boundary = bp;
        }
        this.entries.set(blocks[bp]!.hash, now + TTL_MS[ttl]);
      }
    }
    if (hit >= 0) this.entries.set(blocks[hit]!.hash, Math.max(this.entries.get(blocks[hit]!.hash) ?? 0, now + TTL_MS['5m']));
    if (this.entries.size > 50_000) for (const [hash, until] of this.entries) if (until <= now) this.entries.delete(hash);
    const creation = written['5m'] + written['1h'];
    return {
      input_tokens: total - read - creation, cache_read_input_tokens: read, cache_creation_input_tokens: creation,
      cache_creation: { ephemeral_5m_input_tokens: written['5m'], ephemeral_1h_input_tokens: written['1h'] },
    };
  }
}

export { blocksOf };
export type { Block };

import type { TurnJson } from './agent.js';

const ASSISTANT = 1;
const PLAIN_USER = 2;
const SUMMARY = 4;
/** The smallest buffer a context is given; it doubles as turns are added. */
const MIN_BYTES = 4 * 1024;

/**
 * An agent's context in memory: the JSON text of each turn (TurnJson) as UTF-8 bytes, back to back in one buffer
 * outside V8's heap, written over in place when compaction drops older turns.
 *
 * Why not an array of strings: a long agent adds a ~20 KB turn per call, and each outlived many scavenges, so V8
 * moved it to its old space; compaction then dropped two dozen at a time, and that garbage stayed until a full
 * collection. Over a 1,000-call burst the daemon's RSS grew by what V8 had not yet collected (BENCHMARKS.md, figure
 * 9b). Here a dropped turn's bytes are reused by the next turns, and a request is written to the socket from these
 * bytes as they are (no encoding of the whole window on every call). Turns are decoded only where something reads
 * inside one (the last turn, the judge's few, a compaction's older turns).
 *
 * Bytes are only ever overwritten by `replaceLast` and `keep`, which the runner calls between model calls of the
 * agent; a request in flight holds views of bytes that do not change until it is answered.
 */
export class ContextTurns {
  private bytes: Buffer = Buffer.allocUnsafeSlow(0);
  private used = 0;
  /** Per turn: where its bytes end, its length in characters (for estimates), its kind, and a memo (see `memo`). */
  private ends: number[] = [];
  private chars: number[] = [];
  private kinds: number[] = [];
  private memos: number[] = [];

  static of(turns: Iterable<TurnJson>, isSummary: (json: TurnJson) => boolean = () => false): ContextTurns {
    const out = new ContextTurns();
    for (const json of turns) out.push(json, isSummary(json));
    return out;
  }

  get length(): number {
    return this.ends.length;
  }

  /** Bytes held for this context (its buffer's size), for figures. */
  get capacity(): number {
    return this.bytes.length;
  }

  /** The turn's JSON text, decoded (a new string); negative indexes count from the end, as `Array.at`. */
  at(index: number): TurnJson | undefined {
    const i = index < 0 ? this.length + index : index;
    if (i < 0 || i >= this.length) return undefined;
    return this.bytes.toString('utf8', this.start(i), this.ends[i]);
  }

  /** The turn's UTF-8 bytes, not copied: valid until the next `replaceLast` or `keep`. */
  view(i: number): Buffer {
    return this.bytes.subarray(this.start(i), this.ends[i]);
  }

  /** Characters of turns `from` to `to` (exclusive) as JSON text. */
  charsBetween(from = 0, to = this.length): number {
    let sum = 0;
    for (let i = Math.max(0, from); i < Math.min(to, this.length); i++) sum += this.chars[i]!;
    return sum;
  }

  isAssistant(i: number): boolean {
    return (this.kinds[i]! & ASSISTANT) !== 0;
  }

  /** A user turn that is not a bare tool result: one a request may start with. */
  isPlainUser(i: number): boolean {
    return (this.kinds[i]! & PLAIN_USER) !== 0;
  }

  isSummary(i: number): boolean {
    return (this.kinds[i]! & SUMMARY) !== 0;
  }

  /**
   * A small non-negative number about turn `i`, computed from its text once and kept until the turn is replaced
   * (used for how a cache breakpoint goes on it, which needs the turn parsed).
   */
  memo(i: number, compute: (json: TurnJson) => number): number {
    const known = this.memos[i]!;
    if (known > 0) return known - 1;
    const value = compute(this.at(i)!);
    this.memos[i] = value + 1;
    return value;
  }

  push(json: TurnJson, summary = false): void {
    const size = Buffer.byteLength(json);
    this.reserve(this.used + size);
    this.used += this.bytes.write(json, this.used, 'utf8');
    this.ends.push(this.used);
    this.chars.push(json.length);
    this.kinds.push(kindOf(json, summary));
    this.memos.push(0);
  }

  replaceLast(json: TurnJson): void {
    const last = this.length - 1;
    if (last < 0) return this.push(json);
    const summary = this.isSummary(last);
    this.used = this.start(last);
    this.ends.pop();
    this.chars.pop();
    this.kinds.pop();
    this.memos.pop();
    this.push(json, summary);
  }

  /** The context becomes `[summary, ...turns from `from` on]`, in the same buffer. */
  keep(from: number, summary: TurnJson): void {
    const cut = from >= this.length ? this.used : this.start(from);
    const keptBytes = this.used - cut;
    const head = Buffer.byteLength(summary);
    this.reserve(head + keptBytes);
    this.bytes.copyWithin(head, cut, this.used); // memmove: right or left, overlapping or not
    this.bytes.write(summary, 0, 'utf8');
    const shift = head - cut;
    this.ends = [head, ...this.ends.slice(from).map((end) => end + shift)];
    this.chars = [summary.length, ...this.chars.slice(from)];
    this.kinds = [kindOf(summary, true), ...this.kinds.slice(from)];
    this.memos = [0, ...this.memos.slice(from)];
    // The buffer is kept at its size: the context grows back to the compaction threshold, and a buffer given back
    // and grown again each cycle would be the garbage this class exists to avoid. It is at most twice the largest
    // context the agent had, which compaction bounds by the model's window.
    this.used = head + keptBytes;
  }

  /** Every turn decoded (tests, checkpoints of older versions). */
  toArray(): TurnJson[] {
    return this.slice(0, this.length);
  }

  /** Turns decoded, with `Array.slice`'s arguments (negative ones count from the end). */
  slice(from = 0, to = this.length): TurnJson[] {
    const index = (i: number) => Math.min(this.length, Math.max(0, i < 0 ? this.length + i : i));
    const out: TurnJson[] = [];
    for (let i = index(from); i < index(to); i++) out.push(this.at(i)!);
    return out;
  }

  *[Symbol.iterator](): IterableIterator<TurnJson> {
    for (let i = 0; i < this.length; i++) yield this.at(i)!;
  }

  private start(i: number): number {
    return i === 0 ? 0 : this.ends[i - 1]!;
  }

  private reserve(bytes: number): void {
    if (bytes > this.bytes.length) this.resize(Math.max(MIN_BYTES, this.bytes.length * 2, bytes));
  }

  private resize(bytes: number): void {
    const next = Buffer.allocUnsafeSlow(bytes);
    this.bytes.copy(next, 0, 0, this.used);
    this.bytes = next;
  }
}

function kindOf(json: TurnJson, summary: boolean): number {
  if (json.startsWith('{"role":"assistant"')) return ASSISTANT;
  const user = json.startsWith('{"role":"user"');
  return (user && !json.includes('"type":"tool_result"') ? PLAIN_USER : 0) | (summary ? SUMMARY : 0);
}

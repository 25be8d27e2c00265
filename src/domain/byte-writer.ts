/**
 * An append-only UTF-8 buffer in chunks that grow from 16 KiB to 1 MiB, so a small answer allocates little and a
 * large one is copied only once, when finished. `ascii` takes ASCII text only (fixed JSON).
 */
export class ByteWriter {
  private readonly done: Buffer[] = [];
  private chunk: Buffer;
  private used = 0;
  private doneBytes = 0;

  constructor(private size = 16 * 1024) {
    this.chunk = Buffer.allocUnsafe(size);
  }

  bytes(bytes: Uint8Array): void {
    if (bytes.length > this.chunk.length - this.used) this.grow(bytes.length);
    this.chunk.set(bytes, this.used);
    this.used += bytes.length;
  }

  ascii(text: string): void {
    if (text.length > this.chunk.length - this.used) this.grow(text.length);
    this.used += this.chunk.write(text, this.used, 'latin1');
  }

  /**
   * `tenths / 10` as JavaScript prints it (`12.3`, `12`, `0`), for an integer 0 ≤ tenths < 2^53: the double nearest
   * to q.r is tenths / 10, and no shorter decimal maps to it. Written digit by digit, with no string made.
   */
  tenths(tenths: number): void {
    if (!Number.isSafeInteger(tenths) || tenths < 0) return this.ascii(`${tenths / 10}`);
    if (24 > this.chunk.length - this.used) this.grow(24);
    const chunk = this.chunk;
    const fraction = tenths % 10;
    let whole = (tenths - fraction) / 10;
    let digits = 1;
    for (let rest = whole; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    let at = this.used + digits;
    this.used = at;
    do {
      const digit = whole % 10;
      chunk[--at] = 48 + digit;
      whole = (whole - digit) / 10;
    } while (whole > 0);
    if (fraction !== 0) {
      chunk[this.used++] = 46; // '.'
      chunk[this.used++] = 48 + fraction;
    }
  }

  get length(): number {
    return this.doneBytes + this.used;
  }

  /**
   * The bytes written, as one buffer. (Streaming the chunks instead saves this copy but was slower: a pipe waits for
   * each chunk to drain before writing the next, where one buffer is written by libuv without a turn of the loop.)
   * The writer must not be used after.
   */
  finish(): Buffer {
    const last = this.chunk.subarray(0, this.used);
    if (this.done.length === 0) return last;
    this.done.push(last);
    return Buffer.concat(this.done, this.length);
  }

  private grow(need: number): void {
    this.done.push(this.chunk.subarray(0, this.used));
    this.doneBytes += this.used;
    this.size = Math.min(this.size * 2, 1024 * 1024);
    this.chunk = Buffer.allocUnsafe(Math.max(this.size, need));
    this.used = 0;
  }
}

/** Part of a request's JSON text: a string, or the UTF-8 bytes of a stored turn (see ContextTurns). */
export type BodyPiece = string | Uint8Array;

/**
 * A large request's JSON text as the pieces it is made of (the head, then each stored turn's JSON bytes with the
 * commas between them), never joined into one string. A long agent's request is ~600 KB of text that is almost all stored
 * turns, already in memory: joining them made two ~600 KB strings per call (the join and its flattening when sent),
 * large enough that V8 puts them straight into its large-object space, where every one alive at a scavenge stays
 * until a full collection. That headroom was most of the daemon's RSS growth over an agent's life (BENCHMARKS.md,
 * figure 9b). nodeHttpFetch writes the pieces to the socket one after the other with the length declared up front.
 *
 * It is a Blob so that the SDK passes it to its fetch as it is and keeps retrying it (a stream body would turn its
 * retries off), and so that any other fetch sends the same bytes: `size`, `stream()`, `text()` and `arrayBuffer()`
 * are those of the joined text. The Blob underneath is empty; nothing of it is read.
 */
export class JsonBody extends Blob {
  readonly pieces: readonly BodyPiece[];

  constructor(pieces: readonly BodyPiece[]) {
    super([], { type: 'application/json' });
    this.pieces = pieces;
    let bytes = 0;
    for (const piece of this.pieces) bytes += Buffer.byteLength(piece);
    // Blob's `size` is a getter over the (empty) data underneath: this instance's own value shadows it.
    Object.defineProperty(this, 'size', { value: bytes, enumerable: true });
  }

  override text(): Promise<string> {
    return Promise.resolve(this.joined().toString('utf8'));
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.joined();
    return Promise.resolve(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  }

  override stream(): ReturnType<Blob['stream']> {
    const pieces = this.pieces;
    let next = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        // A copy: a stream is read later, and stored turns' bytes are only guaranteed until the call is answered.
        if (next < pieces.length) controller.enqueue(Buffer.from(pieces[next++]!));
        else controller.close();
      },
    }) as ReturnType<Blob['stream']>;
  }

  override slice(start?: number, end?: number, type?: string): Blob {
    return new Blob([this.joined() as Uint8Array<ArrayBuffer>], { type: this.type }).slice(start, end, type);
  }

  private joined(): Buffer {
    return Buffer.concat(this.pieces.map((piece) => (typeof piece === 'string' ? Buffer.from(piece) : piece)));
  }
}

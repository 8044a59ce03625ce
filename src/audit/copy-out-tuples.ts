// `COPY (…) TO STDOUT (FORMAT binary)` read straight off node-postgres's socket, in chunks of
// whole tuples for the verify workers (verify-ledger-copy.ts).
//
// Why not pg-copy-streams: it cuts every CopyData message (one per row) into a Buffer of its
// own and joins them again, which cost the main thread more CPU than the database server
// spent producing the rows. Here the main thread only walks the 5-byte message headers: a
// chunk is the socket's own buffers (each read arrives in an ArrayBuffer of its own), handed
// to a worker thread by transfer, so the bytes are not copied on this thread at all but for
// the one buffer a chunk boundary falls in. A chunk is a run of CopyData messages holding one
// tuple each (PostgreSQL sends one message per row), headers left in place; the notices
// PostgreSQL may interleave and the trailer stay in too, and the checks skip them.
//
// The connection is taken over as pg-copy-streams does it: pg's own 'data' listener is set
// aside while the COPY streams, and given back, with whatever bytes follow CopyDone (or an
// ErrorResponse, which pg then raises as the query's error, or, when the consumer stops
// early, once the rest has been read and dropped), so the client stays usable. A server that
// sends nothing for idleTimeoutMs fails the read and the socket is closed: nothing waits forever.
import type { Socket } from "node:net";

/** Views of a chunk's bytes in order, each over an ArrayBuffer no other chunk uses (transferable). */
export type CopyChunk = Uint8Array[];

const BINARY_SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const ERROR_RESPONSE = 0x45; // 'E'
const COPY_OUT_RESPONSE = 0x48; // 'H'
/** Messages that may come between CopyData: NoticeResponse, ParameterStatus, NotificationResponse. */
export const COPY_ASIDE_MESSAGES = new Set([0x4e, 0x53, 0x41]);
/** The length field of the trailer's CopyData: itself and an int16. */
const TRAILER_MESSAGE_LENGTH = 4 + 2;

interface PgConnection {
  stream: Socket;
  query(text: string): void;
}

type DataListener = (chunk: Buffer) => void;

/** A node-postgres Submittable: pass it to client.query(), then iterate chunks(). */
export class CopyOutTuples {
  private connection: PgConnection | null = null;
  private pgDataListener: DataListener | null = null;
  /** Before the binary header is read: what has come so far (copied; a few KB). */
  private prefix: Buffer | null = Buffer.alloc(0);
  /** The current chunk's pieces, and its tuples. */
  private pieces: Uint8Array[] = [];
  private tuples = 0;
  /** The message being read: its 5-byte header as it arrives, its type, payload bytes still to come. */
  private readonly head = Buffer.alloc(5);
  private headFill = 0;
  private type = 0;
  private tupleMessage = false;
  private remaining = 0;
  /** Where the message being read starts: index in `pieces`, offset in that piece. */
  private messagePiece = 0;
  private messageOffset = 0;
  private copyDone = false;
  private detached = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private readonly cutChunks: CopyChunk[] = [];
  private readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(
    private readonly text: string,
    private readonly chunkEntries: number,
    /** How long the server may send nothing while rows are awaited before the COPY is given up. */
    private readonly idleTimeoutMs = 60_000,
  ) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
  }

  // --- node-postgres's side ----------------------------------------------------------------

  submit(connection: PgConnection): void {
    this.connection = connection;
    const stream = connection.stream;
    const listeners = stream.listeners("data") as DataListener[];
    if (listeners.length !== 1) throw new Error(`COPY needs the connection's only data listener, found ${listeners.length}`);
    this.pgDataListener = listeners[0]!;
    stream.removeListener("data", this.pgDataListener);
    stream.pause();
    stream.on("readable", this.onReadable);
    connection.query(this.text);
  }

  handleError(error: Error): void {
    this.failure ??= error;
    this.detach(Buffer.alloc(0));
    this.markReady();
    this.poke();
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    this.markReady();
    this.poke();
  }

  /** What pg calls when its query_timeout fires (then handleError follows). */
  callback(error?: Error): void {
    if (error) this.failure ??= error;
  }

  // --- the consumer's side -----------------------------------------------------------------

  /**
   * Chunks of chunkEntries tuples (the last one fewer), in order; throws the query's error. A
   * consumer that stops early leaves the rest to be read and dropped, so that the connection
   * comes back to pg (closing it or querying it would otherwise wait forever).
   */
  async *chunks(): AsyncGenerator<CopyChunk, void, undefined> {
    try {
      for (;;) {
        while (this.cutChunks.length > 0) yield this.cutChunks.shift()!;
        if (this.failure) throw this.failure;
        // Once the connection is pg's again (CopyDone, or an error pg is parsing), nothing more is read here.
        if (!(await this.readMore())) break;
      }
      while (this.cutChunks.length > 0) yield this.cutChunks.shift()!;
      // CommandComplete and ReadyForQuery (or an error) follow CopyDone: the client is free after them.
      await this.ready;
      if (this.failure) throw this.failure;
    } finally {
      // A protocol error while dropping leaves nothing to hand back: close the socket (pg then
      // fails this query and the client, instead of waiting).
      if (!this.detached) void this.dropRest().catch(() => this.connection?.stream.destroy());
    }
  }

  /** Takes what the socket has, or waits for it; false once the connection is pg's again. */
  private async readMore(): Promise<boolean> {
    if (this.detached) return false;
    const piece = this.connection ? (this.connection.stream.read() as Buffer | null) : null;
    if (piece === null) await this.waitForData();
    else if (this.prefix) this.takePrefix(piece);
    else this.take(ownBuffer(piece));
    return true;
  }

  /** Until the socket has more (or pg reports an end); a server silent for idleTimeoutMs fails the COPY and closes the socket. */
  private async waitForData(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      timer = setTimeout(() => {
        this.failure ??= new Error(`COPY: the database sent nothing for ${Math.round(this.idleTimeoutMs / 1000)} s, so the read was given up and the connection closed`);
        this.connection?.stream.destroy();
        resolve();
      }, this.idleTimeoutMs);
    });
    clearTimeout(timer);
  }

  private async dropRest(): Promise<void> {
    while (!this.failure && (await this.readMore())) this.cutChunks.length = 0;
  }

  private readonly onReadable = () => this.poke();

  private poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /**
   * Before the first CopyData: CopyOutResponse (and notices) are dropped; the first CopyData
   * starts with the file header (signature, flags, extension), which is cut out of it. Then
   * the rest goes on as the first piece.
   */
  private takePrefix(piece: Buffer): void {
    let b = Buffer.concat([this.prefix!, piece]);
    for (;;) {
      if (b.length < 5) break;
      const type = b[0]!;
      const length = b.readUInt32BE(1);
      if (type === ERROR_RESPONSE) {
        this.prefix = null;
        return this.detach(b);
      }
      if (length < 4) throw new Error(`COPY: malformed message of type 0x${type.toString(16)}`);
      if (type === COPY_DONE) {
        this.prefix = null;
        this.copyDone = true;
        return this.detach(b.subarray(1 + length));
      }
      if (type === COPY_OUT_RESPONSE || COPY_ASIDE_MESSAGES.has(type)) {
        if (b.length < 1 + length) break;
        b = b.subarray(1 + length);
        continue;
      }
      if (type !== COPY_DATA) throw new Error(`COPY: unexpected message of type 0x${type.toString(16)}`);
      if (b.length < 5 + 19) break;
      if (!b.subarray(5, 16).equals(BINARY_SIGNATURE)) throw new Error("COPY did not return PostgreSQL's binary format");
      const header = 19 + b.readUInt32BE(5 + 15);
      if (header > length - 4) throw new Error("COPY: the binary header does not fit its message");
      if (b.length < 5 + header) break;
      this.prefix = null;
      // The first CopyData without the header (or nothing, if it held only the header).
      const rest = header === length - 4 ? b.subarray(5 + header) : Buffer.concat([headerOf(COPY_DATA, length - header), b.subarray(5 + header)]);
      if (rest.length > 0) this.take(ownBuffer(rest));
      return;
    }
    this.prefix = Buffer.from(b);
  }

  /** Walks the message headers in `piece` (an ArrayBuffer of its own), cutting a chunk at every chunkEntries tuples. */
  private take(piece: Uint8Array): void {
    this.pieces.push(piece);
    let index = this.pieces.length - 1;
    let p = 0;
    while (p < piece.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, piece.length - p);
        p += n;
        this.remaining -= n;
        if (this.remaining > 0) break;
      } else {
        if (this.headFill === 0) {
          this.messagePiece = index;
          this.messageOffset = p;
        }
        while (this.headFill < 5 && p < piece.length) this.head[this.headFill++] = piece[p++]!;
        if (this.headFill < 5) break;
        this.headFill = 0;
        this.type = this.head[0]!;
        const length = this.head.readUInt32BE(1);
        if (this.type === ERROR_RESPONSE || this.type === COPY_DONE) return this.end(length);
        if (length < 4) throw new Error(`COPY: malformed message of type 0x${this.type.toString(16)}`);
        if (this.type !== COPY_DATA && !COPY_ASIDE_MESSAGES.has(this.type)) throw new Error(`COPY: unexpected message of type 0x${this.type.toString(16)}`);
        // The trailer is the CopyData of 2 bytes (field count -1; a tuple has at least one
        // field, so more); the checks skip it, as notices.
        this.tupleMessage = this.type === COPY_DATA && length !== TRAILER_MESSAGE_LENGTH;
        this.remaining = length - 4;
        if (this.remaining > 0) continue;
      }
      // A message is complete at p.
      if (!this.tupleMessage) continue;
      this.tuples += 1;
      if (this.tuples < this.chunkEntries) continue;
      this.cut(index, p);
      piece = this.pieces[0] ?? new Uint8Array(0);
      index = 0;
      p = 0;
    }
  }

  /**
   * The chunk so far, up to offset `at` of pieces[index], becomes a chunk; what follows starts
   * the next one. The one piece both share is split by copying its smaller side.
   */
  private cut(index: number, at: number): void {
    const pieces = this.pieces.slice(0, index + 1);
    const shared = pieces[index]!;
    let rest: Uint8Array[] = [];
    if (at < shared.length) {
      // new Uint8Array(view) copies (a Buffer's slice() would not).
      if (at <= shared.length - at) {
        pieces[index] = new Uint8Array(shared.subarray(0, at));
        rest = [shared.subarray(at)];
      } else {
        pieces[index] = shared.subarray(0, at);
        rest = [new Uint8Array(shared.subarray(at))];
      }
    }
    this.cutChunks.push(pieces);
    this.pieces = rest;
    this.tuples = 0;
  }

  /** CopyDone or ErrorResponse: its header started at (messagePiece, messageOffset); pg gets it and what follows. */
  private end(length: number): void {
    const kept = this.pieces.slice(0, this.messagePiece);
    if (this.messageOffset > 0) kept.push(this.pieces[this.messagePiece]!.subarray(0, this.messageOffset));
    const after = Buffer.concat([this.pieces[this.messagePiece]!.subarray(this.messageOffset), ...this.pieces.slice(this.messagePiece + 1)]);
    this.pieces = [];
    if (this.type === COPY_DONE) {
      this.copyDone = true;
      if (this.tuples > 0) this.cutChunks.push(kept);
      this.detach(after.subarray(Math.min(after.length, 1 + length)));
    } else {
      this.detach(after);
    }
  }

  /** Hands the connection back to pg, with the bytes that follow what was read here. */
  private detach(rest: Uint8Array): void {
    const connection = this.connection;
    if (!connection || !this.pgDataListener) return;
    this.detached = true;
    const listener = this.pgDataListener;
    this.pgDataListener = null;
    const stream = connection.stream;
    stream.removeListener("readable", this.onReadable);
    stream.on("data", listener);
    if (rest.length > 0) listener(Buffer.from(rest));
    process.nextTick(() => stream.resume());
  }
}

function headerOf(type: number, length: number): Buffer {
  const header = Buffer.alloc(5);
  header[0] = type;
  header.writeUInt32BE(length, 1);
  return header;
}

/** The bytes in an ArrayBuffer of their own: a socket read's are; a small Buffer from Node's shared pool is not. */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length && !(bytes.buffer instanceof SharedArrayBuffer)) return bytes;
  return new Uint8Array(bytes);
}

/** A chunk's bytes in one buffer. Throws if they were handed to a worker thread that is gone. */
export function joinCopyChunk(chunk: CopyChunk): Buffer {
  // A transferred ArrayBuffer is detached: empty, and so is every view of it.
  if (chunk.some((piece) => piece.buffer.byteLength === 0)) {
    throw new Error("a verify worker thread stopped while it held part of the ledger; nothing was concluded: run audit verify again");
  }
  return Buffer.concat(chunk);
}

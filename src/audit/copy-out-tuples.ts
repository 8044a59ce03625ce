// `COPY (…) TO STDOUT (FORMAT binary)` read straight off node-postgres's socket into shared
// memory, in chunks of whole tuples for the verify workers (verify-ledger-copy.ts).
//
// Why not pg-copy-streams: it cuts every CopyData message (one per row) into a Buffer of its
// own and joins them again, which cost the main thread more CPU than the database server
// spent producing the rows. Here the socket's bytes are copied once, as they come, and the
// main thread only walks the 5-byte message headers; each chunk is a run of CopyData messages
// holding one tuple each (PostgreSQL sends one message per row), headers left in place.
//
// The connection is taken over as pg-copy-streams does it: pg's own 'data' listener is set
// aside while the COPY streams, and given back, with whatever bytes follow CopyDone (or an
// ErrorResponse, which pg then raises as the query's error), so the client stays usable.
import type { Socket } from "node:net";
import type { SharedBufferPool } from "./shared-buffer-pool.js";

const BINARY_SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const ERROR_RESPONSE = 0x45; // 'E'
/** Messages that may come before or between CopyData: CopyOutResponse, NoticeResponse, ParameterStatus, NotificationResponse. */
const SET_ASIDE = new Set([0x48, 0x4e, 0x53, 0x41]);

interface PgConnection {
  stream: Socket;
  query(text: string): void;
}

type DataListener = (chunk: Buffer) => void;

/** A node-postgres Submittable: pass it to client.query(), then iterate chunks(). */
export class CopyOutTuples {
  private connection: PgConnection | null = null;
  private pgDataListener: DataListener | null = null;
  private buffer: Buffer;
  private filled = 0;
  /** The end of the last whole message walked, and tuples in the current chunk. */
  private walked = 0;
  private tuples = 0;
  private headerDone = false;
  private copyDone = false;
  private detached = false;
  /** Chunks cut and not yet handed out. */
  private readonly cutChunks: Uint8Array[] = [];
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(
    private readonly text: string,
    private readonly chunkEntries: number,
    private readonly buffers: SharedBufferPool,
  ) {
    this.buffer = buffers.take(buffers.size);
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

  /** What pg calls when its query_timeout fires (then handleError follows). */
  callback(error?: Error): void {
    if (error) this.failure ??= error;
  }

  handleReadyForQuery(): void {
    this.markReady();
    this.poke();
  }

  // --- the consumer's side -----------------------------------------------------------------

  /** Chunks of whole CopyData messages (header and trailer removed), in order; throws the query's error. */
  async *chunks(): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      while (this.cutChunks.length > 0) yield this.cutChunks.shift()!;
      if (this.failure) throw this.failure;
      // Once the connection is pg's again (CopyDone, or an error pg is parsing), nothing more is read here.
      if (this.detached) break;
      const piece = this.connection ? (this.connection.stream.read() as Buffer | null) : null;
      if (piece === null) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      this.take(piece);
    }
    if (this.copyDone && this.tuples > 0) yield this.cut();
    // CommandComplete and ReadyForQuery (or an error) follow CopyDone: the client is free after them.
    await this.ready;
    if (this.failure) throw this.failure;
  }

  private readonly onReadable = () => this.poke();

  private poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Appends socket bytes and walks the messages now complete, cutting a chunk at every chunkEntries tuples. */
  private take(piece: Buffer): void {
    if (this.filled + piece.length > this.buffer.length) this.grow(this.filled + piece.length);
    piece.copy(this.buffer, this.filled);
    this.filled += piece.length;
    while (this.walked + 5 <= this.filled) {
      const b = this.buffer;
      const at = this.walked;
      const type = b[at]!;
      const length = b.readUInt32BE(at + 1);
      if (type === ERROR_RESPONSE) {
        // pg parses it and raises it through handleError.
        const rest = b.subarray(at, this.filled);
        this.filled = at;
        this.detach(rest);
        return;
      }
      if (length < 4) throw new Error(`COPY: malformed message of type 0x${type.toString(16)}`);
      const end = at + 1 + length;
      if (end > this.filled) {
        // A long tuple: make room for all of it now, not piece by piece.
        if (end > this.buffer.length) this.grow(end);
        break;
      }
      if (type === COPY_DATA) {
        if (!this.headerDone) {
          this.stripHeader(at, length);
          continue;
        }
        if (length === 6 && b[at + 5] === 0xff && b[at + 6] === 0xff) {
          this.remove(at, end); // the trailer
          continue;
        }
        this.walked = end;
        this.tuples += 1;
        if (this.tuples >= this.chunkEntries) this.cutChunks.push(this.cut());
        continue;
      }
      if (type === COPY_DONE) {
        this.copyDone = true;
        const rest = b.subarray(end, this.filled);
        this.filled = at;
        this.detach(rest);
        return;
      }
      if (!SET_ASIDE.has(type)) throw new Error(`COPY: unexpected message of type 0x${type.toString(16)}`);
      this.remove(at, end);
    }
  }

  /** The first CopyData starts with the file header: signature, flags, header extension. */
  private stripHeader(at: number, length: number): void {
    const b = this.buffer;
    const payload = at + 5;
    if (length - 4 < 19 || !b.subarray(payload, payload + 11).equals(BINARY_SIGNATURE)) throw new Error("COPY did not return PostgreSQL's binary format");
    const header = 19 + b.readUInt32BE(payload + 15);
    if (header > length - 4) throw new Error("COPY: the binary header does not fit its message");
    this.headerDone = true;
    if (header === length - 4) return this.remove(at, at + 1 + length);
    this.remove(payload, payload + header);
    b.writeUInt32BE(length - header, at + 1);
  }

  private remove(start: number, end: number): void {
    this.buffer.copyWithin(start, end, this.filled);
    this.filled -= end - start;
  }

  /** The tuples walked so far, as a chunk; what follows moves to a fresh buffer. */
  private cut(): Uint8Array {
    const chunk = this.buffer.subarray(0, this.walked);
    const rest = this.filled - this.walked;
    const next = this.buffers.take(Math.max(this.buffers.size, rest));
    this.buffer.copy(next, 0, this.walked, this.filled);
    this.buffer = next;
    this.filled = rest;
    this.walked = 0;
    this.tuples = 0;
    return chunk;
  }

  private grow(needed: number): void {
    const next = this.buffers.take(Math.max(needed, this.buffer.length * 2));
    this.buffer.copy(next, 0, 0, this.filled);
    this.buffers.release(this.buffer);
    this.buffer = next;
  }

  /** Hands the connection back to pg, with the bytes that follow what was read here. */
  private detach(rest: Buffer): void {
    const connection = this.connection;
    if (!connection || !this.pgDataListener) return;
    this.detached = true;
    const listener = this.pgDataListener;
    this.pgDataListener = null;
    const stream = connection.stream;
    stream.removeListener("readable", this.onReadable);
    stream.on("data", listener);
    // Copied: pg may keep a reference to what it parses, and this buffer will be reused.
    if (rest.length > 0) listener(Buffer.from(rest));
    process.nextTick(() => stream.resume());
  }
}

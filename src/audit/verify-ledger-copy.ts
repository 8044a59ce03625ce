// `audit verify` on PostgreSQL at the speed the server can send the ledger.
//
// The rows come from one `COPY (SELECT …) TO STDOUT (FORMAT binary)`: a single streamed
// statement, no pages, no per-row driver objects. The main thread only cuts the stream into
// chunks of whole tuples (reading each field's length) and hands them to worker threads, which
// hash and check every entry of a chunk on their own; each entry needs only its own row and
// the previous row's hash, so chunks verify independently and the main thread links them at
// their boundaries (LedgerChainVerifier.pushVerifiedRun). A chunk that does not pass, and the
// first chunk (while the workers start), are checked entry by entry with the exact code of
// the row path, so every failure is reported with the same first bad seq and wording as before.
//
// PGlite stays on the row path (Prisma pages): COPY does work through the bot's PGlite wire
// server (checked 2026-12-02, binary and text), but PGlite answers each protocol exchange with
// one buffer (execProtocolRawSync), so a COPY of the ledger would be held whole in memory.
//
// Memory stays flat: at most IN_FLIGHT chunks exist at once, and the COPY stream is not read
// while they are all out (the socket then applies backpressure to the server).
import os from "node:os";
import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { ChunkVerifyPool } from "./chunk-verify-pool.js";
import { LedgerChainVerifier, type ChainAnchor } from "./ledger-chain-verifier.js";
import type { LedgerCheckpointRef } from "./ledger-checkpoint-ref.js";
import type { LedgerFailure } from "./ledger-failure.js";
import { COPY_COLUMNS, COPY_FIELD_COUNT, decodeCopyChunk, type ChunkVerdict } from "./verify-copy-chunk.js";
import type { VerifyProgress, VerifyResult } from "./verify-ledger.js";

export interface VerifyLedgerCopyOptions {
  anchor?: ChainAnchor;
  checkpoints?: readonly LedgerCheckpointRef[];
  checkpointsBeyondHead?: "fail" | "report";
  afterSeq?: bigint;
  upToSeq?: bigint;
  onProgress?: (progress: VerifyProgress) => void;
  progressEvery?: number;
  /** Entries per chunk (tests use small ones to put failures on chunk boundaries). */
  chunkEntries?: number;
  /** Worker threads; 0 checks every chunk on the calling thread. */
  workers?: number;
}

const DEFAULT_CHUNK_ENTRIES = 2000;
/** Room for a default chunk of ~1 KB entries without growing. */
const INITIAL_BUFFER_BYTES = 4 << 20;
const BINARY_SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");

export async function verifyLedgerCopy(client: pg.ClientBase, options: VerifyLedgerCopyOptions = {}): Promise<VerifyResult> {
  const verifier = new LedgerChainVerifier({ anchor: options.anchor, checkpoints: options.checkpoints });
  const chunkEntries = options.chunkEntries ?? DEFAULT_CHUNK_ENTRIES;
  const checkpointSeqs = (options.checkpoints ?? []).map((checkpoint) => checkpoint.seq.toString());
  const pool = new ChunkVerifyPool(options.workers ?? Math.min(4, os.availableParallelism()), checkpointSeqs);
  const every = options.progressEvery ?? 50_000;
  let nextReport = every;
  const report = () => options.onProgress?.({ entries: verifier.entries, headSeq: verifier.headSeq, bytes: verifier.bytes });

  const where = [`seq > ${BigInt(options.afterSeq ?? 0n)}`, ...(options.upToSeq !== undefined ? [`seq <= ${BigInt(options.upToSeq)}`] : [])].join(" AND ");
  const stream = client.query(copyTo(`COPY (SELECT ${COPY_COLUMNS} FROM ledger_entry WHERE ${where} ORDER BY seq) TO STDOUT (FORMAT binary)`));
  const splitter = new TupleSplitter(chunkEntries);
  const inFlight: Array<{ chunk: Uint8Array; verdict: Promise<ChunkVerdict> }> = [];
  const maxInFlight = Math.max(2, pool.size * 3);
  let failure: LedgerFailure | null = null;

  const settle = async (item: { chunk: Uint8Array; verdict: Promise<ChunkVerdict> }) => {
    const verdict = await item.verdict;
    if (!verifier.pushVerifiedRun(verdict)) {
      for (const entry of decodeCopyChunk(item.chunk)) {
        const found = verifier.push(entry);
        if (found) return (failure = found);
      }
    }
    splitter.recycle(item.chunk);
    if (verifier.entries >= nextReport) {
      report();
      nextReport = verifier.entries + every;
    }
    return null;
  };

  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      if (failure) continue; // drain: the connection stays usable for what follows
      for (const chunk of splitter.push(piece)) {
        inFlight.push({ chunk, verdict: pool.run(chunk, "copy") });
        while (!failure && inFlight.length >= maxInFlight) await settle(inFlight.shift()!);
      }
    }
    if (!failure) for (const chunk of splitter.end()) inFlight.push({ chunk, verdict: pool.run(chunk, "copy") });
    while (!failure && inFlight.length > 0) await settle(inFlight.shift()!);
  } finally {
    await pool.close();
  }
  if (failure) return failure;
  report();
  return verifier.finish(options.checkpointsBeyondHead ?? "fail");
}

/**
 * Cuts the binary COPY stream into chunks of whole tuples, each in its own SharedArrayBuffer
 * (a worker reads it without a copy). Bytes are copied once, into the chunk being filled.
 */
class TupleSplitter {
  private buffer = new Uint8Array(new SharedArrayBuffer(INITIAL_BUFFER_BYTES));
  /** Buffers of settled chunks, reused: allocating (and zeroing) megabytes per chunk costs the main thread. */
  private readonly spare: Array<Uint8Array<SharedArrayBuffer>> = [];
  private view = Buffer.from(this.buffer.buffer);
  private filled = 0;
  /** End of the last complete tuple walked, and tuples walked, in the current buffer. */
  private walked = 0;
  private tuples = 0;
  private headerDone = false;
  /** The first chunk starts after the header; later ones at 0. */
  private chunkStart = 0;
  private finished = false;

  constructor(private readonly chunkEntries: number) {}

  *push(piece: Buffer): Generator<Uint8Array> {
    if (this.filled + piece.length > this.buffer.length) this.grow(this.filled + piece.length);
    this.view.set(piece, this.filled);
    this.filled += piece.length;
    if (!this.headerDone && !this.skipHeader()) return;
    for (;;) {
      const end = this.tupleEnd(this.walked);
      if (end < 0) return;
      this.walked = end;
      this.tuples += 1;
      if (this.tuples >= this.chunkEntries) yield this.cut();
    }
  }

  *end(): Generator<Uint8Array> {
    if (this.tuples > 0) yield this.cut();
  }

  private skipHeader(): boolean {
    if (this.filled < 19) return false;
    if (!this.view.subarray(0, 11).equals(BINARY_SIGNATURE)) throw new Error("COPY did not return PostgreSQL's binary format");
    const extension = this.view.readUInt32BE(15);
    if (this.filled < 19 + extension) return false;
    this.walked = 19 + extension;
    this.chunkStart = this.walked;
    this.headerDone = true;
    return true;
  }

  /** Where the tuple at `start` ends, or -1 when it is not all here yet (or is the trailer). */
  private tupleEnd(start: number): number {
    if (this.finished || start + 2 > this.filled) return -1;
    const fields = this.view.readInt16BE(start);
    if (fields === -1) {
      this.finished = true;
      return -1;
    }
    if (fields !== COPY_FIELD_COUNT) throw new Error(`COPY returned a tuple of ${fields} fields, expected ${COPY_FIELD_COUNT}`);
    let p = start + 2;
    for (let f = 0; f < fields; f++) {
      if (p + 4 > this.filled) return -1;
      const length = this.view.readInt32BE(p);
      p += 4 + Math.max(0, length);
    }
    return p > this.filled ? -1 : p;
  }

  private cut(): Uint8Array {
    const chunk = this.buffer.subarray(this.chunkStart, this.walked);
    const rest = this.filled - this.walked;
    const size = Math.max(this.buffer.length, rest * 2);
    const reusable = this.spare.findIndex((candidate) => candidate.length >= size);
    const next = reusable >= 0 ? this.spare.splice(reusable, 1)[0]! : new Uint8Array(new SharedArrayBuffer(size));
    next.set(this.buffer.subarray(this.walked, this.filled));
    this.buffer = next;
    this.view = Buffer.from(next.buffer);
    this.filled = rest;
    this.walked = 0;
    this.tuples = 0;
    this.chunkStart = 0;
    return chunk;
  }


  /** A chunk is settled: its buffer may take new data. */
  recycle(chunk: Uint8Array): void {
    if (this.spare.length < 8) this.spare.push(new Uint8Array(chunk.buffer as SharedArrayBuffer));
  }

  private grow(needed: number): void {
    const next = new Uint8Array(new SharedArrayBuffer(Math.max(needed, this.buffer.length * 2)));
    next.set(this.buffer.subarray(0, this.filled));
    this.buffer = next;
    this.view = Buffer.from(next.buffer);
  }
}

// `audit verify` on PostgreSQL at the speed the server can send the ledger.
//
// The rows come from one `COPY (SELECT …) TO STDOUT (FORMAT binary)`: a single streamed
// statement, no pages, no per-row driver objects. The main thread only walks the message
// headers and hands the socket's own buffers, in chunks of whole tuples (copy-out-tuples.ts),
// to worker threads by transfer; they hash and check every entry of a chunk on their own; each entry needs only its own row and
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
import { ChunkVerifyPool } from "./chunk-verify-pool.js";
import { CopyOutTuples, joinCopyChunk, type CopyChunk } from "./copy-out-tuples.js";
import { LedgerChainVerifier, type ChainAnchor } from "./ledger-chain-verifier.js";
import type { LedgerCheckpointRef } from "./ledger-checkpoint-ref.js";
import type { LedgerFailure } from "./ledger-failure.js";
import { COPY_COLUMNS, decodeCopyChunk, type ChunkVerdict } from "./verify-copy-chunk.js";
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

export async function verifyLedgerCopy(client: pg.ClientBase, options: VerifyLedgerCopyOptions = {}): Promise<VerifyResult> {
  const verifier = new LedgerChainVerifier({ anchor: options.anchor, checkpoints: options.checkpoints });
  const chunkEntries = options.chunkEntries ?? DEFAULT_CHUNK_ENTRIES;
  const checkpointSeqs = (options.checkpoints ?? []).map((checkpoint) => checkpoint.seq.toString());
  const pool = new ChunkVerifyPool(options.workers ?? Math.min(4, os.availableParallelism()), checkpointSeqs);
  const every = options.progressEvery ?? 50_000;
  let nextReport = every;
  const report = () => options.onProgress?.({ entries: verifier.entries, headSeq: verifier.headSeq, bytes: verifier.bytes });

  const where = [`seq > ${BigInt(options.afterSeq ?? 0n)}`, ...(options.upToSeq !== undefined ? [`seq <= ${BigInt(options.upToSeq)}`] : [])].join(" AND ");
  const copy = new CopyOutTuples(`COPY (SELECT ${COPY_COLUMNS} FROM ledger_entry WHERE ${where} ORDER BY seq) TO STDOUT (FORMAT binary)`, chunkEntries);
  // pg's Submittable type names its Connection class, which does not declare the socket read here.
  client.query(copy as unknown as pg.Submittable);
  const inFlight: Array<{ chunk: CopyChunk; verdict: Promise<ChunkVerdict> }> = [];
  const maxInFlight = Math.max(2, pool.size * 3);
  let failure: LedgerFailure | null = null;

  const settle = async (item: { chunk: CopyChunk; verdict: Promise<ChunkVerdict> }) => {
    const verdict = await item.verdict;
    if (!verifier.pushVerifiedRun(verdict)) {
      // The bytes come back from the worker that had them, or are still here.
      for (const entry of decodeCopyChunk((!verdict.ok && verdict.bytes) || joinCopyChunk(item.chunk))) {
        const found = verifier.push(entry);
        if (found) return (failure = found);
      }
    }
    if (verifier.entries >= nextReport) {
      report();
      nextReport = verifier.entries + every;
    }
    return null;
  };

  try {
    for await (const chunk of copy.chunks()) {
      if (failure) continue; // drain: the connection stays usable for what follows
      inFlight.push({ chunk, verdict: pool.run(chunk, "copy") });
      while (!failure && inFlight.length >= maxInFlight) await settle(inFlight.shift()!);
    }
    while (!failure && inFlight.length > 0) await settle(inFlight.shift()!);
  } finally {
    await pool.close();
  }
  if (failure) return failure;
  report();
  return verifier.finish(options.checkpointsBeyondHead ?? "fail");
}

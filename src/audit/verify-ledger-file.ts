import { checkLedgerEntry } from "./check-ledger-entry.js";
import { LedgerChainVerifier } from "./ledger-chain-verifier.js";
import type { LedgerCheckpointRef } from "./ledger-checkpoint-ref.js";
import { ledgerFailure, type LedgerFailure } from "./ledger-failure.js";
import { ExportLineError } from "./parse-jsonl-line.js";
import { parseJsonlLines, READ_BUFFER_BYTES, readJsonlLineRuns, type JsonlLineRun } from "./read-jsonl-ledger.js";
import { SharedBufferPool } from "./shared-buffer-pool.js";
import { ChunkVerifyPool } from "./chunk-verify-pool.js";
import type { ChunkVerdict } from "./verify-copy-chunk.js";
import type { VerifiableEntry } from "../ledger/ledger-record.js";
import os from "node:os";

/**
 * What an export file proves:
 * - "complete": contiguous from seq 1 and linked to genesis;
 * - "anchored": a contiguous run from the middle whose first prev_hash equals a supplied
 *   checkpoint at (first seq - 1), or whose last entry is a supplied checkpoint;
 * - "partial": every entry is consistent with itself (and a contiguous run with itself),
 *   but nothing ties it to the real ledger: a filtered export, or a run with no checkpoint.
 */
export type FileVerdict = "complete" | "anchored" | "partial";

export interface FileVerified {
  ok: true;
  verdict: FileVerdict;
  entries: number;
  bytes: number;
  firstSeq: bigint | null;
  lastSeq: bigint | null;
  lastHash: string | null;
  contiguous: boolean;
  /** The first place seqs jump, for a non-contiguous file. */
  firstGap: { after: bigint; next: bigint } | null;
  checkpointsChecked: number;
  /** Supplied checkpoints this file could not check (before its start, after its end, or between filtered entries). */
  checkpointsUnchecked: number;
  /** Why the verdict is what it is, in one sentence. */
  explanation: string;
}

export interface VerifyLedgerFileOptions {
  checkpoints?: readonly LedgerCheckpointRef[];
  onProgress?: (progress: { entries: number; fileBytes: number }) => void;
  /** The longest line accepted, in bytes; MAX_JSONL_LINE_BYTES (16 MiB) by default. */
  maxLineBytes?: number;
  /** Worker threads checking runs of lines; 0 checks them on the calling thread. */
  workers?: number;
}

/**
 * Verifies a JSONL export in one streaming pass. While seqs are consecutive the full chain
 * rules apply (links, hashes, checkpoints). At the first forward jump the file is taken to be
 * filtered: from there on only each entry's own hash, its body's seq and strictly increasing
 * order can be checked, plus any checkpoint that names one of its entries. Any inconsistency
 * is a failure whatever the verdict.
 */
export async function verifyLedgerFile(path: string, options: VerifyLedgerFileOptions = {}): Promise<FileVerified | LedgerFailure> {
  const checkpoints = options.checkpoints ?? [];
  const chain = new LedgerChainVerifier({ anchor: "first-entry", checkpoints });
  const bySeq = new Map<bigint, LedgerCheckpointRef[]>();
  for (const checkpoint of checkpoints) bySeq.set(checkpoint.seq, [...(bySeq.get(checkpoint.seq) ?? []), checkpoint]);

  let entries = 0;
  let bytes = 0;
  let lastSeq: bigint | null = null;
  let lastHash: string | null = null;
  let firstGap = null as { after: bigint; next: bigint } | null;
  let looseCheckpoints = 0;
  let fileBytes = 0;
  let nextReport = 50_000;

  // One entry through the exact rules: the chain while seqs are consecutive, then (after the
  // first forward jump) each entry on its own.
  const checkEntry = (entry: VerifiableEntry): LedgerFailure | null => {
    if (firstGap === null && lastSeq !== null && entry.seq > lastSeq + 1n) firstGap = { after: lastSeq, next: entry.seq };
    if (firstGap === null) {
      const failure = chain.push(entry);
      if (failure) return failure;
    } else {
      if (entry.seq <= lastSeq!) {
        return ledgerFailure(entry.seq, "seq-mismatch", `entry ${entry.seq} comes after entry ${lastSeq}: the file is out of order`);
      }
      const failure = checkLedgerEntry(entry);
      if (failure) return failure;
      for (const checkpoint of bySeq.get(entry.seq) ?? []) {
        if (checkpoint.hash !== entry.hash) {
          return ledgerFailure(entry.seq, "checkpoint-mismatch", `entry ${entry.seq} has hash ${entry.hash}, but ${checkpoint.source} recorded ${checkpoint.hash}`);
        }
        looseCheckpoints += 1;
      }
    }
    entries += 1;
    bytes += 64 + Buffer.byteLength(entry.body, "utf8");
    lastSeq = entry.seq;
    lastHash = entry.hash;
    return null;
  };

  // Runs of lines are checked by worker threads (verify-jsonl-chunk.ts) and linked here; a
  // run that does not pass, the first one, and everything after a gap go through checkEntry,
  // so failures read exactly as they always did. At most IN_FLIGHT runs are out at once.
  const lineFailure = (error: ExportLineError) => ledgerFailure(lastSeq === null ? 1n : lastSeq + 1n, "malformed", `${error.message} (after entry ${lastSeq ?? "none"})`);
  const pool = new ChunkVerifyPool(options.workers ?? Math.min(4, os.availableParallelism()), checkpoints.map((checkpoint) => checkpoint.seq.toString()));
  const inFlight: Array<{ run: JsonlLineRun; verdict: Promise<ChunkVerdict> }> = [];
  const maxInFlight = Math.max(2, pool.size * 3);
  // Enough pooled buffers for every run in flight, the one being read and the one settling.
  const buffers = new SharedBufferPool(READ_BUFFER_BYTES, maxInFlight + 2);
  const settle = async (item: (typeof inFlight)[number]): Promise<LedgerFailure | null> => {
    const verdict = await item.verdict;
    if (firstGap === null && chain.pushVerifiedRun(verdict) && verdict.ok) {
      entries += verdict.count;
      bytes += verdict.bytes;
      lastSeq = BigInt(verdict.lastSeq);
      lastHash = verdict.lastHash;
    } else {
      const parsed = parseJsonlLines(item.run.bytes, item.run.firstLineNumber);
      for (const entry of parsed.entries) {
        const failure = checkEntry(entry);
        if (failure) return failure;
      }
      // Reported here, before any later run is linked: it is the first problem in file order.
      if (parsed.error) return lineFailure(parsed.error);
    }
    buffers.release(item.run.bytes);
    if (entries >= nextReport) {
      options.onProgress?.({ entries, fileBytes });
      nextReport = entries + 50_000;
    }
    return null;
  };

  try {
    try {
      for await (const run of readJsonlLineRuns(path, { onBytes: (read) => (fileBytes = read), maxLineBytes: options.maxLineBytes, buffers })) {
        inFlight.push({ run, verdict: pool.run(run.bytes, "jsonl") });
        while (inFlight.length >= maxInFlight) {
          const failure = await settle(inFlight.shift()!);
          if (failure) return failure;
        }
      }
    } catch (error) {
      // A line refused while reading comes after every line already read: check those first.
      while (inFlight.length > 0) {
        const failure = await settle(inFlight.shift()!);
        if (failure) return failure;
      }
      throw error;
    }
    while (inFlight.length > 0) {
      const failure = await settle(inFlight.shift()!);
      if (failure) return failure;
    }
  } catch (error) {
    if (error instanceof ExportLineError) return lineFailure(error);
    throw error;
  } finally {
    await pool.close();
  }
  options.onProgress?.({ entries, fileBytes });

  const run = chain.finish("report");
  if (!run.ok) return run;
  const checkedCount = run.checkpointsChecked + looseCheckpoints;
  const base = { ok: true as const, entries, bytes, firstSeq: run.firstSeq, lastSeq, lastHash, firstGap, checkpointsUnchecked: checkpoints.length - checkedCount };
  if (entries === 0) {
    return { ...base, verdict: "partial", contiguous: true, checkpointsChecked: 0, explanation: "the file has no entries, so it proves nothing" };
  }
  if (firstGap) {
    return {
      ...base,
      verdict: "partial",
      contiguous: false,
      checkpointsChecked: checkedCount,
      explanation: `entries are not contiguous (entry ${firstGap.after} is followed by ${firstGap.next}), as in a filtered export: each entry's own hash was checked, but entries cannot be linked to each other or to the ledger`,
    };
  }
  const checked = { contiguous: true, checkpointsChecked: run.checkpointsChecked };
  if (run.firstSeq === 1n) return { ...base, ...checked, verdict: "complete", explanation: "contiguous from seq 1 and linked to the genesis hash" };
  if (run.startAnchored) {
    return { ...base, ...checked, verdict: "anchored", explanation: `the first entry's prev_hash equals the checkpoint at seq ${run.firstSeq! - 1n}` };
  }
  if (run.lastCheckpointSeq !== null && run.lastCheckpointSeq === lastSeq) {
    return { ...base, ...checked, verdict: "anchored", explanation: `the last entry's hash equals the checkpoint at seq ${lastSeq}` };
  }
  const hint =
    run.lastCheckpointSeq !== null
      ? `entries up to ${run.lastCheckpointSeq} match the checkpoint there, but the run goes on to ${lastSeq}`
      : `pass --checkpoint ${run.firstSeq! - 1n}:<hash> (the hash of entry ${run.firstSeq! - 1n}) or --checkpoint ${lastSeq}:<hash> to anchor it`;
  return { ...base, ...checked, verdict: "partial", explanation: `a contiguous run from seq ${run.firstSeq} that no checkpoint ties to the ledger: ${hint}` };
}

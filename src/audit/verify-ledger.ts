import { LedgerChainVerifier, type ChainAnchor, type ChainVerified } from "./ledger-chain-verifier.js";
import type { LedgerCheckpointRef } from "./ledger-checkpoint-ref.js";
import type { LedgerFailure } from "./ledger-failure.js";
import type { VerifiableEntry } from "../ledger/ledger-record.js";
import { COPYABLE_ROWS, type CopyableLedgerRows } from "./read-ledger-rows.js";
import { verifyLedgerCopy } from "./verify-ledger-copy.js";

export type VerifyResult = ChainVerified | LedgerFailure;

export interface VerifyProgress {
  entries: number;
  headSeq: bigint;
  bytes: number;
}

export interface VerifyLedgerOptions {
  /** Default: genesis, i.e. the stream must be the whole ledger from seq 1. */
  anchor?: ChainAnchor | "first-entry";
  checkpoints?: readonly LedgerCheckpointRef[];
  /** "fail" (default) for the database; "report" for an export that may predate a checkpoint. */
  checkpointsBeyondHead?: "fail" | "report";
  onProgress?: (progress: VerifyProgress) => void;
  /** Entries between two onProgress calls. */
  progressEvery?: number;
  /** Rows over node-postgres only (verify-ledger-copy.ts): entries per worker chunk, for tests. */
  chunkEntries?: number;
  /** Rows over node-postgres only: worker threads (0: all on this thread). */
  workers?: number;
}

type EntrySource = AsyncIterable<VerifiableEntry | readonly VerifiableEntry[]> | Iterable<VerifiableEntry | readonly VerifiableEntry[]>;

/**
 * Verifies a ledger streamed in seq order: every entry's hash, the links between entries,
 * gapless seqs and the checkpoints, in O(1) memory. The source may yield single entries or
 * pages of entries (the database reader yields pages: a promise per row would cost more
 * than hashing it). Stops reading at the first failure, which closes the source.
 */
export async function verifyLedger(source: EntrySource, options: VerifyLedgerOptions = {}): Promise<VerifyResult> {
  const copyable = (source as { [COPYABLE_ROWS]?: CopyableLedgerRows })[COPYABLE_ROWS];
  if (copyable && options.anchor !== "first-entry") {
    return verifyLedgerCopy(copyable.client, { ...options, anchor: options.anchor, afterSeq: copyable.afterSeq, upToSeq: copyable.upToSeq });
  }
  const verifier = new LedgerChainVerifier({ anchor: options.anchor, checkpoints: options.checkpoints });
  const every = options.progressEvery ?? 50_000;
  let nextReport = every;
  const report = () => options.onProgress?.({ entries: verifier.entries, headSeq: verifier.headSeq, bytes: verifier.bytes });

  for await (const item of source) {
    if (isPage(item)) {
      for (const entry of item) {
        const failure = verifier.push(entry);
        if (failure) return failure;
      }
    } else {
      const failure = verifier.push(item);
      if (failure) return failure;
    }
    if (verifier.entries >= nextReport) {
      report();
      nextReport = verifier.entries + every;
    }
  }
  report();
  return verifier.finish(options.checkpointsBeyondHead ?? "fail");
}

function isPage(item: VerifiableEntry | readonly VerifiableEntry[]): item is readonly VerifiableEntry[] {
  return Array.isArray(item);
}

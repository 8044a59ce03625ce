import { GENESIS_HASH } from "../ledger/ledger-hash.js";
import { checkLedgerEntry } from "./check-ledger-entry.js";
import type { LedgerCheckpointRef } from "./ledger-checkpoint-ref.js";
import { ledgerFailure, type LedgerFailure } from "./ledger-failure.js";
import type { VerifiableEntry } from "../ledger/ledger-record.js";
import type { ChunkVerdict } from "./verify-copy-chunk.js";

/** The (seq, hash) just before the first entry: (0, 64 zeros) for a chain from genesis. */
export interface ChainAnchor {
  seq: bigint;
  hash: string;
}

export const GENESIS_ANCHOR: ChainAnchor = { seq: 0n, hash: GENESIS_HASH };

export interface ChainVerifierOptions {
  /**
   * Where the chain must start. "first-entry" accepts whatever the first entry claims (its seq
   * and prev_hash), for a contiguous run cut out of the middle of the ledger; whether that
   * claim is backed by a checkpoint is reported as `startAnchored`.
   */
  anchor?: ChainAnchor | "first-entry";
  checkpoints?: readonly LedgerCheckpointRef[];
}

export interface ChainVerified {
  ok: true;
  entries: number;
  /** seq and hash of the last entry (of the anchor when there were no entries). */
  headSeq: bigint;
  headHash: string;
  checkpointsChecked: number;
  /** seq of the first entry, null when there were none. */
  firstSeq: bigint | null;
  /** Bytes hashed: prev_hash (64) plus the UTF-8 body, for every entry. */
  bytes: number;
  /** The start is proven: genesis, or a checkpoint equal to the anchor's hash. */
  startAnchored: boolean;
  /** The highest checkpoint that matched, null when none did. */
  lastCheckpointSeq: bigint | null;
  /** Checkpoints after the last entry (not checkable), and before the first one. */
  checkpointsBeyondHead: LedgerCheckpointRef[];
  checkpointsBeforeStart: number;
}

/**
 * The chain rules of docs/ledger-format.md, one entry at a time, in O(1) memory (plus the
 * checkpoint list): feed entries in the order they were read with `push`, then call
 * `finish`. Stops at the first failure, because nothing after a broken link can be trusted.
 *
 * Checkpoints are sorted once and walked with a cursor as the stream passes their seq, so
 * checking them costs nothing per entry.
 */
export class LedgerChainVerifier {
  private readonly checkpoints: LedgerCheckpointRef[];
  private nextCheckpoint = 0;
  private anchor: ChainAnchor | null;
  private expectedSeq: bigint;
  private prevHash: string;
  private failure: LedgerFailure | null = null;

  entries = 0;
  bytes = 0;
  headSeq: bigint;
  headHash: string;
  firstSeq: bigint | null = null;
  checkpointsChecked = 0;
  checkpointsBeforeStart = 0;
  startAnchored = false;
  lastCheckpointSeq: bigint | null = null;

  constructor(options: ChainVerifierOptions = {}) {
    this.checkpoints = [...(options.checkpoints ?? [])].sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
    const anchor = options.anchor ?? GENESIS_ANCHOR;
    this.anchor = anchor === "first-entry" ? null : anchor;
    this.expectedSeq = this.anchor ? this.anchor.seq + 1n : 0n;
    this.prevHash = this.anchor?.hash ?? GENESIS_HASH;
    this.headSeq = this.anchor?.seq ?? 0n;
    this.headHash = this.prevHash;
  }

  /** Checks the next entry; returns the failure (also on every later call) or null. */
  push(entry: VerifiableEntry): LedgerFailure | null {
    if (this.failure) return this.failure;
    return (this.failure = this.check(entry));
  }

  /**
   * Takes a run of entries already checked on their own and among themselves (a worker's
   * chunk, src/audit/verify-copy-chunk.ts) as if each had been pushed: only its ends are
   * linked here, and the checkpoints inside it compared. Returns false, changing nothing, when
   * the run did not pass or anything at its boundary needs the exact checks: the caller then
   * pushes its entries one by one, which reports precisely what `push` always reported.
   */
  pushVerifiedRun(run: ChunkVerdict): boolean {
    if (!run.ok || this.failure || this.anchor === null || this.entries === 0) return false;
    const firstSeq = BigInt(run.firstSeq);
    const lastSeq = BigInt(run.lastSeq);
    if (firstSeq !== this.expectedSeq || run.firstPrevHash !== this.prevHash) return false;
    const hashes = new Map<bigint, string>();
    for (let i = 0; i < run.checkpointHashes.length; i += 2) hashes.set(BigInt(run.checkpointHashes[i]!), run.checkpointHashes[i + 1]!);
    const checkpoints = this.checkpoints;
    let cursor = this.nextCheckpoint;
    let matched = 0;
    let lastMatched: bigint | null = null;
    while (cursor < checkpoints.length && checkpoints[cursor]!.seq <= lastSeq) {
      const checkpoint = checkpoints[cursor++]!;
      if (hashes.get(checkpoint.seq) !== checkpoint.hash) return false;
      matched += 1;
      lastMatched = checkpoint.seq;
    }
    this.nextCheckpoint = cursor;
    this.checkpointsChecked += matched;
    if (lastMatched !== null) this.lastCheckpointSeq = lastMatched;
    this.entries += run.count;
    this.bytes += run.bytes;
    this.prevHash = run.lastHash;
    this.headSeq = lastSeq;
    this.headHash = run.lastHash;
    this.expectedSeq = lastSeq + 1n;
    return true;
  }

  private check(entry: VerifiableEntry): LedgerFailure | null {
    const seq = entry.seq;
    if (typeof seq !== "bigint" || seq < 1n) {
      return ledgerFailure(this.expectedSeq, "malformed", `an entry has the invalid seq ${String(seq)} (seqs are integers from 1)`);
    }
    if (this.anchor === null) {
      // A run cut from the middle: its own first entry says where it starts.
      const own = checkLedgerEntry(entry);
      if (own) return own;
      this.anchor = { seq: seq - 1n, hash: entry.prevHash };
      this.expectedSeq = seq;
      this.prevHash = entry.prevHash;
    } else if (seq !== this.expectedSeq) {
      if (seq > this.expectedSeq) {
        const where = this.expectedSeq === 1n ? "the ledger must start at seq 1" : `entry ${this.expectedSeq - 1n} is followed by entry ${seq}`;
        return ledgerFailure(this.expectedSeq, "gap", `entry ${this.expectedSeq} is missing: ${where}`);
      }
      return ledgerFailure(this.expectedSeq, "seq-mismatch", `entry ${seq} appears where entry ${this.expectedSeq} was expected: entries are duplicated or out of order`);
    } else {
      const own = checkLedgerEntry(entry);
      if (own) return own;
    }

    if (this.entries === 0) {
      this.firstSeq = seq;
      const anchorFailure = this.checkAnchor(this.anchor);
      if (anchorFailure) return anchorFailure;
    }
    if (entry.prevHash !== this.prevHash) {
      return ledgerFailure(
        seq,
        "broken-link",
        seq === 1n
          ? `entry 1's prev_hash is ${entry.prevHash}, not the genesis hash (64 zeros)`
          : `entry ${seq}'s prev_hash ${entry.prevHash} is not the hash of entry ${seq - 1n} (${this.prevHash}): an earlier entry was replaced or re-hashed`,
      );
    }

    this.entries += 1;
    this.bytes += 64 + Buffer.byteLength(entry.body, "utf8");
    this.prevHash = entry.hash;
    this.headSeq = seq;
    this.headHash = entry.hash;
    this.expectedSeq = seq + 1n;

    const checkpoints = this.checkpoints;
    while (this.nextCheckpoint < checkpoints.length && checkpoints[this.nextCheckpoint]!.seq <= seq) {
      const checkpoint = checkpoints[this.nextCheckpoint++]!;
      const failure = this.compare(checkpoint, seq, entry.hash);
      if (failure) return failure;
    }
    return null;
  }

  /** Checkpoints at or before the anchor: the one at the anchor itself proves the start. */
  private checkAnchor(anchor: ChainAnchor): LedgerFailure | null {
    this.startAnchored = anchor.seq === 0n && anchor.hash === GENESIS_HASH;
    if (anchor.seq === 0n && anchor.hash !== GENESIS_HASH) {
      return ledgerFailure(1n, "broken-link", `entry 1's prev_hash is ${anchor.hash}, not the genesis hash (64 zeros)`);
    }
    const checkpoints = this.checkpoints;
    while (this.nextCheckpoint < checkpoints.length && checkpoints[this.nextCheckpoint]!.seq <= anchor.seq) {
      const checkpoint = checkpoints[this.nextCheckpoint++]!;
      if (checkpoint.seq < anchor.seq) {
        this.checkpointsBeforeStart += 1;
        continue;
      }
      const failure = this.compare(checkpoint, anchor.seq + 1n, anchor.hash);
      if (failure) return failure;
      this.startAnchored = true;
    }
    return null;
  }

  private compare(checkpoint: LedgerCheckpointRef, reportSeq: bigint, actual: string): LedgerFailure | null {
    if (checkpoint.hash !== actual) {
      return ledgerFailure(
        reportSeq,
        "checkpoint-mismatch",
        `the chain's hash at seq ${checkpoint.seq} is ${actual}, but ${checkpoint.source} recorded ${checkpoint.hash}: the ledger was rewritten at or before seq ${checkpoint.seq}`,
      );
    }
    this.checkpointsChecked += 1;
    this.lastCheckpointSeq = checkpoint.seq;
    return null;
  }

  /**
   * Ends the stream. With `checkpointsBeyondHead: "fail"` (the database, which must contain
   * every published head) a checkpoint after the last entry means entries were removed from
   * the end; an export may simply be older than a checkpoint, so it passes "report".
   */
  finish(checkpointsBeyondHead: "fail" | "report" = "fail"): ChainVerified | LedgerFailure {
    if (this.failure) return this.failure;
    const beyond = this.checkpoints.slice(this.nextCheckpoint);
    if (beyond.length > 0 && checkpointsBeyondHead === "fail") {
      const first = beyond[0]!;
      return (this.failure = ledgerFailure(
        this.headSeq + 1n,
        "checkpoint-mismatch",
        `${first.source} recorded seq ${first.seq} (hash ${first.hash}), but the ledger ends at seq ${this.headSeq}: entries ${this.headSeq + 1n}..${first.seq} were removed`,
      ));
    }
    return {
      ok: true,
      entries: this.entries,
      headSeq: this.headSeq,
      headHash: this.headHash,
      checkpointsChecked: this.checkpointsChecked,
      firstSeq: this.firstSeq,
      bytes: this.bytes,
      // An empty chain from genesis is trivially anchored; an empty cut-out proves nothing.
      startAnchored: this.entries === 0 ? this.anchor?.seq === 0n && this.anchor.hash === GENESIS_HASH : this.startAnchored,
      lastCheckpointSeq: this.lastCheckpointSeq,
      checkpointsBeyondHead: beyond,
      checkpointsBeforeStart: this.checkpointsBeforeStart,
    };
  }
}

import fs from "node:fs";
import path from "node:path";
import { acquirePgliteLock, PgliteLockedError } from "../db/acquire-pglite-lock.js";
import { clearInboxJournal, readInboxJournal, type JournalEntry } from "./inbox-journal.js";

export interface OverflowJournal {
  /** This process's journal file. */
  path: string;
  /** Acknowledged interactions that processes before this one journalled and did not get into the inbox table. */
  leftovers: JournalEntry[];
  /** Deletes the journals whose leftovers are in the inbox table now. */
  clearLeftovers(): void;
  release(): void;
}

/**
 * On PostgreSQL the ack thread journals each interaction locally until its inbox row has
 * committed (ack-thread.ts), so the ack never waits for the database. Several processes may share
 * the directory (replicas on one host, tests): each takes a slot of its own, `inbox-<n>`, under
 * the same lock protocol as a PGlite data directory (a stale lock of a dead process is taken
 * over). Slots that nobody holds are journals of processes that died: their entries are handed
 * back as leftovers, to go into the inbox table before this process takes requests.
 */
export function claimOverflowJournal(dir: string): OverflowJournal {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const slots = new Set(
    fs
      .readdirSync(dir)
      .map((name) => /^(inbox-\d+)\.(?:jsonl|lock)$/.exec(name)?.[1])
      .filter((slot): slot is string => slot !== undefined),
  );
  const stale: Array<{ file: string; release: () => void }> = [];
  let own: { slot: string; release: () => void } | null = null;
  const tryTake = (slot: string) => {
    try {
      return acquirePgliteLock(path.join(dir, slot), "accessbot (inbox overflow journal)");
    } catch (error) {
      if (error instanceof PgliteLockedError) return null;
      throw error;
    }
  };
  for (const slot of [...slots].sort()) {
    const release = tryTake(slot);
    if (!release) continue;
    stale.push({ file: path.join(dir, `${slot}.jsonl`), release });
  }
  for (let n = 0; own === null; n++) {
    const slot = `inbox-${n}`;
    if (slots.has(slot)) continue;
    const release = tryTake(slot);
    if (release) own = { slot, release };
  }
  const leftovers = stale.flatMap((journal) => readInboxJournal(journal.file));
  const ownFile = path.join(dir, `${own.slot}.jsonl`);
  const ownRelease = own.release;
  return {
    path: ownFile,
    leftovers,
    clearLeftovers() {
      for (const journal of stale.splice(0)) {
        clearInboxJournal(journal.file);
        journal.release();
      }
    },
    release() {
      for (const journal of stale.splice(0)) journal.release();
      ownRelease();
    },
  };
}

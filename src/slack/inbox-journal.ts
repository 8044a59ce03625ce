import fs from "node:fs";
import path from "node:path";

export interface JournalEntry {
  key: string;
  body: unknown;
}

/**
 * The durable record of an acknowledged interaction on embedded PGlite, written by the ack
 * thread before it acks: an append-only file of JSON lines. PGlite is one session, so a row
 * written there would wait behind whatever transaction the bot has open; a file append does
 * not. The bot copies each entry into the inbox table before running it, and on start-up
 * before taking requests; then the file is cut back to what the table does not hold yet.
 * (On PostgreSQL the ack thread sends the inbox row itself, since replicas share the table, and
 * journals the interaction here only until that row has committed.)
 *
 * Each entry is written with write(2) before the ack, which is exactly PGlite's own guarantee:
 * PGlite's file system layer never calls fsync, so its commits, like these entries, survive
 * the process being killed (they are in the kernel's page cache) but not a power cut or a
 * kernel crash. An fdatasync here would cost every ack a disk flush and buy nothing the
 * database keeps anyway; whoever needs power-loss durability runs PostgreSQL with
 * ACCESSBOT_INBOX_FLUSH=true, where each ack waits for its row's flushed commit.
 */
export class InboxJournal {
  private fd: number;
  /** Bytes cut from the front of the file so far: offsets handed out stay valid across compactions. */
  private base = 0;
  private size: number;

  constructor(private readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // a+: appends go to the end, and compact() reads the tail back.
    this.fd = fs.openSync(file, "a+", 0o600);
    this.size = fs.fstatSync(this.fd).size;
  }

  /** Appends one entry (to the kernel: see above); returns the offset just past it. */
  append(entry: JournalEntry): number {
    const line = Buffer.from(`${JSON.stringify(entry)}\n`, "utf8");
    fs.writeSync(this.fd, line);
    this.size += line.length;
    return this.base + this.size;
  }

  /**
   * Drops every entry that ends at or before `offset` (they are in the inbox table now). This
   * runs on the thread that acks, so it never waits for the disk: a journal wholly copied is
   * truncated in place, and one with a tail still to copy is rewritten without an fsync. Either
   * survives the process being killed, which is all the journal promises (see above): after a
   * power cut it may bring back entries already copied (the inbox's dedupe key skips them) or
   * lose the tail, as an unflushed append may.
   */
  compact(offset: number): void {
    const cut = offset - this.base;
    if (cut <= 0) return;
    if (cut >= this.size) {
      fs.ftruncateSync(this.fd, 0);
    } else {
      const keep = Buffer.alloc(this.size - cut);
      fs.readSync(this.fd, keep, 0, keep.length, cut);
      const next = `${this.file}.next`;
      fs.writeFileSync(next, keep, { mode: 0o600 });
      fs.renameSync(next, this.file);
      fs.closeSync(this.fd);
      this.fd = fs.openSync(this.file, "a+", 0o600);
    }
    this.base += Math.min(cut, this.size);
    this.size -= Math.min(cut, this.size);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Every whole entry in a journal left by an earlier process (a torn last line is skipped: it was never acked). */
export function readInboxJournal(file: string): JournalEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const entries: JournalEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      const entry = JSON.parse(line) as JournalEntry;
      if (typeof entry.key === "string") entries.push(entry);
    } catch {
      // the write was cut short by the crash, so its ack was never sent
    }
  }
  return entries;
}

/** Empties the journal once its entries are in the inbox table. */
export function clearInboxJournal(file: string): void {
  fs.rmSync(file, { force: true });
}

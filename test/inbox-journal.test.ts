// The ack thread's journal on PGlite: what was appended is read back after a crash, a torn last
// line (the crash came mid-write, so that ack was never sent) is skipped, and compaction keeps
// exactly the entries not yet copied into the inbox table, with offsets valid across compactions.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { clearInboxJournal, InboxJournal, readInboxJournal } from "../src/slack/inbox-journal.js";

test("the inbox journal: append, read back, skip a torn line, compact by offset, clear", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "accessbot-journal-"));
  const file = path.join(dir, "run", "inbox.jsonl");
  try {
    const journal = new InboxJournal(file);
    const a = journal.append({ key: "a", body: { text: "first\nline" } });
    const b = journal.append({ key: "b", body: 2 });
    assert.deepEqual(readInboxJournal(file), [{ key: "a", body: { text: "first\nline" } }, { key: "b", body: 2 }]);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);

    journal.compact(a);
    assert.deepEqual(readInboxJournal(file).map((entry) => entry.key), ["b"]);
    const c = journal.append({ key: "c", body: 3 });
    journal.compact(b); // an offset from before the first compaction still means "through b"
    assert.deepEqual(readInboxJournal(file).map((entry) => entry.key), ["c"]);
    journal.compact(c);
    assert.equal(fs.statSync(file).size, 0);
    journal.append({ key: "d", body: 4 });
    journal.close();

    fs.appendFileSync(file, '{"key":"torn","bo');
    assert.deepEqual(readInboxJournal(file).map((entry) => entry.key), ["d"], "the torn entry was never acked");
    clearInboxJournal(file);
    assert.deepEqual(readInboxJournal(file), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Checkpoints after N entries or T minutes of activity (ACCESSBOT_CHECKPOINT_EVERY_*), and the
// checkpoint function every database records them through.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import type { WebClient } from "@slack/web-api";
import { pino } from "pino";
import { checkpointDue } from "../src/audit-stream/checkpoint-due.js";
import { publishCheckpoint, publishCheckpointIfDue, startCheckpointTimer, type CheckpointDeps } from "../src/audit-stream/publish-checkpoint.js";
import { ConfigError, readEnvConfig } from "../src/config/read-env-config.js";
import type { Database } from "../src/db/open-database.js";
import { appendLedgerEntry } from "../src/ledger/append-ledger-entry.js";
import { resetDatabase, testDatabases } from "./support/test-databases.js";

const MINUTE = 60_000;
const T0 = new Date("2026-12-02T10:00:00.000Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * MINUTE);

describe("checkpointDue", () => {
  const rules = { everyEntries: 100, everyMinutes: 15 };

  test("nothing to publish: an empty ledger, or no entry since the last checkpoint", () => {
    assert.equal(checkpointDue({ ...rules, lastCheckpoint: null, head: null, now: at(60) }), false);
    assert.equal(checkpointDue({ ...rules, lastCheckpoint: { seq: 7n, at: T0 }, head: { seq: 7n }, now: at(600) }), false, "T minutes without activity is not due");
    assert.equal(checkpointDue({ ...rules, lastCheckpoint: { seq: 9n, at: T0 }, head: { seq: 7n }, now: at(600) }), false);
  });

  test("N entries since the last checkpoint, however recent", () => {
    assert.equal(checkpointDue({ ...rules, lastCheckpoint: { seq: 7n, at: T0 }, head: { seq: 106n }, now: at(1) }), false);
    assert.equal(checkpointDue({ ...rules, lastCheckpoint: { seq: 7n, at: T0 }, head: { seq: 107n }, now: at(1) }), true);
    assert.equal(checkpointDue({ ...rules, lastCheckpoint: null, head: { seq: 100n }, now: at(0), everyMinutes: 0 }), true);
    assert.equal(checkpointDue({ ...rules, lastCheckpoint: null, head: { seq: 99n }, now: at(0), everyMinutes: 0 }), false);
  });

  test("T minutes since the last checkpoint with at least one entry since", () => {
    assert.equal(checkpointDue({ ...rules, lastCheckpoint: { seq: 7n, at: T0 }, head: { seq: 8n }, now: new Date(at(15).getTime() - 1) }), false);
    assert.equal(checkpointDue({ ...rules, lastCheckpoint: { seq: 7n, at: T0 }, head: { seq: 8n }, now: at(15) }), true);
    assert.equal(checkpointDue({ ...rules, lastCheckpoint: null, head: { seq: 1n }, now: T0 }), true, "never published: due with the first entry");
  });

  test("0 turns a rule off; both off is never due", () => {
    assert.equal(checkpointDue({ everyEntries: 0, everyMinutes: 15, lastCheckpoint: { seq: 1n, at: T0 }, head: { seq: 10_000n }, now: at(1) }), false);
    assert.equal(checkpointDue({ everyEntries: 100, everyMinutes: 0, lastCheckpoint: { seq: 1n, at: T0 }, head: { seq: 2n }, now: at(10_000) }), false);
    assert.equal(checkpointDue({ everyEntries: 0, everyMinutes: 0, lastCheckpoint: null, head: { seq: 10_000n }, now: at(10_000) }), false);
  });
});

describe("ACCESSBOT_CHECKPOINT_EVERY_ENTRIES / _MINUTES", () => {
  const base = { SLACK_BOT_TOKEN: "xoxb-1", SLACK_SIGNING_SECRET: "s" };

  test("default 100 entries and 15 minutes; 0 turns a rule off", () => {
    assert.deepEqual(readEnvConfig(base).checkpoint, { everyEntries: 100, everyMinutes: 15 });
    assert.deepEqual(readEnvConfig({ ...base, ACCESSBOT_CHECKPOINT_EVERY_ENTRIES: "0", ACCESSBOT_CHECKPOINT_EVERY_MINUTES: " 5 " }).checkpoint, { everyEntries: 0, everyMinutes: 5 });
  });

  test("each malformed value is one line naming the variable", () => {
    for (const [entries, minutes] of [["-1", "x"], ["", "99999"], ["1.5", "1e3"]]) {
      assert.throws(
        () => readEnvConfig({ ...base, ACCESSBOT_CHECKPOINT_EVERY_ENTRIES: entries, ACCESSBOT_CHECKPOINT_EVERY_MINUTES: minutes }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.deepEqual(error.problems, [
            "ACCESSBOT_CHECKPOINT_EVERY_ENTRIES must be a whole number of entries from 0 (off) to 1000000",
            "ACCESSBOT_CHECKPOINT_EVERY_MINUTES must be a whole number of minutes from 0 (off) to 10080",
          ]);
          return true;
        },
      );
    }
  });
});

const SYSTEM = { kind: "system" as const, name: "accessbot" };

function fakeSlack(posts: string[], fail = false): WebClient {
  return {
    chat: {
      async postMessage(args: { text: string }) {
        if (fail) throw new Error("channel_not_found");
        posts.push(args.text);
        return { ok: true, channel: "C0AUDIT", ts: `1795341807.${String(posts.length).padStart(6, "0")}` };
      },
    },
  } as unknown as WebClient;
}

for (const target of testDatabases) {
  describe(`publishing checkpoints (${target.name})`, () => {
    let db: Database;
    let posts: string[];
    const deps = (extra: Partial<CheckpointDeps> = {}): CheckpointDeps => ({
      prisma: db.prisma,
      client: fakeSlack(posts),
      auditChannel: "C0AUDIT",
      webhookUrl: null,
      webhookSecret: null,
      log: pino({ level: "silent" }),
      databaseKind: db.kind,
      ...extra,
    });
    const append = async (count: number) => {
      for (let index = 0; index < count; index++) {
        await db.prisma.$transaction((tx) => appendLedgerEntry(tx, { type: "request.expired", requestId: "AR-CHECKPT1", actor: SYSTEM, data: { index } }, new Date()));
      }
    };

    before(async () => {
      db = await target.open();
    });
    after(() => db.close());
    beforeEach(async () => {
      await resetDatabase(db);
      posts = [];
    });

    test("publishCheckpointIfDue publishes after N entries, then not again until more activity", async () => {
      const rules = { everyEntries: 3, everyMinutes: 15 };
      // Never published: the first entry is due at once (T minutes since "never").
      await append(1);
      const first = await publishCheckpointIfDue({ ...deps(), ...rules });
      assert.equal(first?.seq, 1n);
      assert.ok(first?.id, "recorded through accessbot_record_checkpoint");
      await append(2);
      assert.equal(await publishCheckpointIfDue({ ...deps(), ...rules }), null, "2 entries, 0 minutes: not due");
      await append(1);
      const second = await publishCheckpointIfDue({ ...deps(), ...rules });
      assert.equal(second?.seq, 4n, "3 entries since the last checkpoint");
      assert.equal(await publishCheckpointIfDue({ ...deps(), ...rules, now: new Date(Date.now() + 60 * MINUTE) }), null, "no activity since: not due, however long");
      await append(1);
      const third = await publishCheckpointIfDue({ ...deps(), ...rules, now: new Date(Date.now() + 16 * MINUTE) });
      assert.equal(third?.seq, 5n, "one entry and 15 minutes");
      assert.equal(posts.length, 3);
      assert.match(posts[2]!, /Ledger checkpoint: seq 5 hash [0-9a-f]{64}/);
      const rows = await db.prisma.ledgerCheckpoint.findMany({ orderBy: { id: "asc" } });
      assert.deepEqual(rows.map((row) => [row.seq, row.channelId, row.messageTs]), [
        [1n, "C0AUDIT", "1795341807.000001"],
        [4n, "C0AUDIT", "1795341807.000002"],
        [5n, "C0AUDIT", "1795341807.000003"],
      ]);
    });

    test("a head published nowhere is not recorded, so the next attempt publishes it", async () => {
      await append(2);
      const failed = await publishCheckpoint(deps({ client: fakeSlack(posts, true) }));
      assert.equal(failed?.id, null);
      assert.equal(await db.prisma.ledgerCheckpoint.count(), 0);
      const retried = await publishCheckpoint(deps());
      assert.equal(retried?.seq, 2n);
      assert.ok(retried?.id);
      assert.equal(await publishCheckpoint(deps()), null, "the same head is not posted twice");
      assert.equal(posts.length, 1);
    });

    test("concurrent publications in one process post each head once", async () => {
      await append(2);
      const results = await Promise.all([
        publishCheckpoint(deps()),
        publishCheckpointIfDue({ ...deps(), everyEntries: 1, everyMinutes: 0 }),
        publishCheckpointIfDue({ ...deps(), everyEntries: 1, everyMinutes: 0 }),
      ]);
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(posts.length, 1);
      assert.equal(await db.prisma.ledgerCheckpoint.count(), 1);
    });

    test("the checkpoint function refuses a head that is not a ledger entry", async () => {
      await append(1);
      await assert.rejects(
        db.prisma.$queryRaw`SELECT accessbot_record_checkpoint(${1n}::bigint, ${"ab".repeat(32)}::text, NULL, NULL, NULL) AS id`,
        /23503|no ledger entry has seq 1 and hash abab/,
      );
      assert.equal(await db.prisma.ledgerCheckpoint.count(), 0);
    });

    test("startCheckpointTimer publishes a due head on its tick and stops cleanly", async () => {
      await append(1);
      const timer = startCheckpointTimer({ deps, everyEntries: 1, everyMinutes: 0, intervalMs: 20 });
      try {
        for (let waited = 0; posts.length === 0 && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      } finally {
        await timer.stop();
      }
      assert.equal(posts.length, 1);
      assert.equal(await db.prisma.ledgerCheckpoint.count(), 1);
    });
  });
}

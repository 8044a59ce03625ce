// When an acknowledged interaction is replayed: a live process's record waits out the replay
// delay; what a dead process acked (its journal copied at start-up, or on PGlite anything left
// unfinished) runs at once; a finished or claimed interaction is never moved.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import type { Database } from "../src/db/open-database.js";
import { PrismaInteractionInbox } from "../src/db/prisma-interaction-inbox.js";
import { INBOX_JOB_KIND } from "../src/slack/interaction-inbox.js";
import { resetDatabase, testDatabases } from "./support/test-databases.js";

const NOW = new Date("2026-12-02T12:00:00.000Z");
const MINUTE = 60_000;

for (const target of testDatabases) {
  describe(`the interaction inbox's replay time (${target.name})`, () => {
    let db: Database;
    let inbox: PrismaInteractionInbox;
    before(async () => {
      db = await target.open();
      inbox = new PrismaInteractionInbox(db.prisma, { now: () => NOW });
    });
    after(async () => {
      await db.close();
    });
    beforeEach(async () => {
      await resetDatabase(db);
    });
    const row = (key: string) => db.prisma.job.findUniqueOrThrow({ where: { dedupeKey: key } });

    test("a second record keeps the body and takes only an earlier replay time", async () => {
      await inbox.record("k1", { n: 1 }, MINUTE);
      assert.equal((await row("k1")).runAt.getTime(), NOW.getTime() + MINUTE);
      await inbox.record("k1", { n: 2 }, 2 * MINUTE);
      assert.equal((await row("k1")).runAt.getTime(), NOW.getTime() + MINUTE, "a later time never postpones it");
      await inbox.record("k1", { n: 3 }, 0);
      const now = await row("k1");
      assert.equal(now.runAt.getTime(), NOW.getTime(), "a dead process's copy makes it due now");
      assert.deepEqual(now.payload, { key: "k1", body: { n: 1 } }, "the first body stays");
    });

    test("a settled or claimed interaction is not moved", async () => {
      await inbox.record("done", {}, MINUTE);
      await inbox.settle("done");
      await inbox.record("done", {}, 0);
      assert.ok((await row("done")).doneAt, "still done: never replayed");
      await inbox.record("claimed", {}, MINUTE);
      await db.prisma.job.update({ where: { dedupeKey: "claimed" }, data: { lockedBy: "replica-2", lockedUntil: new Date(NOW.getTime() + MINUTE) } });
      await inbox.record("claimed", {}, 0);
      assert.equal((await row("claimed")).runAt.getTime(), NOW.getTime() + MINUTE, "the replica running it keeps it");
    });

    test("replayLeftNow makes every unfinished, unclaimed interaction due now, and nothing else", async () => {
      await inbox.record("left-1", {}, MINUTE);
      await inbox.record("left-2", {}, 5 * MINUTE);
      await inbox.record("finished", {}, MINUTE);
      await inbox.settle("finished");
      await inbox.record("claimed", {}, MINUTE);
      await db.prisma.job.update({ where: { dedupeKey: "claimed" }, data: { lockedBy: "x", lockedUntil: new Date(NOW.getTime() + MINUTE) } });
      await db.prisma.job.create({ data: { kind: "notify", payload: {}, runAt: new Date(NOW.getTime() + MINUTE) } });
      assert.equal(await inbox.replayLeftNow(), 2);
      assert.equal((await row("left-1")).runAt.getTime(), NOW.getTime());
      assert.equal((await row("left-2")).runAt.getTime(), NOW.getTime());
      assert.equal((await row("claimed")).runAt.getTime(), NOW.getTime() + MINUTE);
      const other = await db.prisma.job.findFirstOrThrow({ where: { kind: { not: INBOX_JOB_KIND } } });
      assert.equal(other.runAt.getTime(), NOW.getTime() + MINUTE, "other jobs keep their time");
    });
  });
}

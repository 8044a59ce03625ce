// The job worker on a real database: while interactions are queued it yields to them (a burst
// of clicks is decided first), and its effects still progress, then catch up at full width.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { pino } from "pino";
import type { Database } from "../src/db/open-database.js";
import { PrismaJobQueue } from "../src/db/prisma-job-queue.js";
import { JobWorker } from "../src/jobs/job-worker.js";
import { resetDatabase, testDatabases } from "./support/test-databases.js";

const silent = pino({ level: "silent" });

for (const target of testDatabases) {
  describe(`job worker (${target.name})`, () => {
    let db: Database;

    before(async () => {
      db = await target.open();
    });
    after(async () => {
      await db.close();
    });
    beforeEach(async () => {
      await resetDatabase(db);
    });

    test("while interactions wait it runs two jobs at a time, then every job at once when they are done", async () => {
      await db.prisma.job.createMany({ data: Array.from({ length: 10 }, (_, i) => ({ kind: "notify", payload: { i }, runAt: new Date(Date.now() - 1000) })) });
      let backlog = true;
      let running = 0;
      let widest = 0;
      const release: Array<() => void> = [];
      const worker = new JobWorker({
        queue: new PrismaJobQueue(db.prisma),
        perform: async () => {
          running++;
          widest = Math.max(widest, running);
          await new Promise<void>((resolve) => release.push(resolve));
          running--;
          return { kind: "done" };
        },
        clock: { now: () => new Date() },
        log: silent,
        leaseMs: () => 30_000,
        maxAttempts: () => 3,
        yieldTo: () => backlog,
      });
      worker.start();
      const until = async (what: string, ok: () => boolean) => {
        for (let i = 0; i < 500 && !ok(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
        assert.ok(ok(), what);
      };
      await until("two jobs started", () => running === 2);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(running, 2, "no more than two while interactions wait");
      // Effects still progress during the burst: finishing one starts the next.
      release.shift()!();
      await until("a third job started after one finished", () => release.length === 2 && running === 2);
      assert.equal(widest, 2);

      backlog = false;
      worker.nudge();
      await until("the rest run at once", () => running === 9);
      while (release.length > 0) release.shift()!();
      await until("every job done", () => running === 0 && release.length === 0);
      await worker.stop(1000);
      assert.equal(await db.prisma.job.count({ where: { doneAt: null } }), 0);
      assert.equal(await db.prisma.job.count({ where: { outcome: "done" } }), 10);
    });
  });
}

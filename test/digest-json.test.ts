// `accessbot digest --json`: the convention every command shares, beside the older
// `--format json`; one document on stdout, the report the digest computes from the database.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createPrismaLedgerQuery } from "../src/audit/ledger-query.js";
import type { Database } from "../src/db/open-database.js";
import { computeDigest } from "../src/digest/compute-digest.js";
import { runDigestCli } from "../src/digest/run-digest-cli.js";
import { periodOfDates } from "../src/domain/digest-period.js";
import { seedSampleWeeks } from "./support/seed-sample-weeks.js";
import { openTestPglite } from "./support/test-databases.js";

const TZ = "Europe/Berlin";
const NOW = new Date("2026-12-01T08:00:00Z");
let db: Database;

before(async () => {
  db = await openTestPglite();
  await seedSampleWeeks(db.prisma, 40);
});
after(() => db.close());

async function digest(...args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runDigestCli(args, { log: (text) => stdout.push(text), error: (text) => stderr.push(text) }, { database: db, now: NOW });
  return { code, stdout, stderr };
}

test("digest --json is one JSON document equal to the computed report, and the same as --format json", async () => {
  const period = ["--since", "2026-11-23", "--until", "2026-11-29", "--timezone", TZ];
  const json = await digest(...period, "--json");
  assert.equal(json.code, 0, json.stderr.join("\n"));
  assert.equal(json.stdout.length, 1, "one document");
  const report = JSON.parse(json.stdout[0]!) as Record<string, unknown>;
  const expected = await computeDigest(db.prisma, createPrismaLedgerQuery(db.prisma), periodOfDates("2026-11-23", "2026-11-29", TZ), NOW);
  assert.deepEqual(report, JSON.parse(JSON.stringify(expected)));
  assert.ok(Number(report.requests) > 0, "the seeded week has requests");

  const format = await digest(...period, "--format", "json");
  assert.deepEqual(JSON.parse(format.stdout[0]!), report);

  const both = await digest(...period, "--json", "--print");
  assert.equal(both.code, 2);
  assert.match(both.stderr.join("\n"), /Choose one of --print, --post and --format json \(--json\)/);
});

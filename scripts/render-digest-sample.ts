// `node --import tsx scripts/render-digest-sample.ts`: renders the digest of a sample week
// (seeded deterministically into an in-memory database) to docs/digest-chart.png and
// docs/digest-sample.txt, the pictures the README shows.
import fs from "node:fs";
import { createPrismaLedgerQuery } from "../src/audit/ledger-query.js";
import { openDatabase } from "../src/db/open-database.js";
import { PGLITE_MEMORY } from "../src/db/resolve-database-target.js";
import { periodOfDates } from "../src/domain/digest-period.js";
import { formatDigestText } from "../src/digest/format-digest-text.js";
import { renderDigestChart } from "../src/digest/render-digest-chart.js";
import { computeDigest } from "../src/digest/compute-digest.js";
import { seedSampleWeeks } from "../test/support/seed-sample-weeks.js";

const db = await openDatabase({ target: { kind: "pglite", dataDir: PGLITE_MEMORY }, migrate: true });
try {
  await seedSampleWeeks(db.prisma);
  const report = await computeDigest(db.prisma, createPrismaLedgerQuery(db.prisma), periodOfDates("2026-11-23", "2026-11-29", "Europe/Berlin"), new Date("2026-12-01T08:00:00Z"));
  fs.writeFileSync(new URL("../docs/digest-chart.png", import.meta.url), await renderDigestChart(report));
  fs.writeFileSync(new URL("../docs/digest-sample.txt", import.meta.url), `${formatDigestText(report)}\n`);
  console.log(`rendered the digest of ${report.requests} requests to docs/digest-chart.png and docs/digest-sample.txt`);
} finally {
  await db.close();
}

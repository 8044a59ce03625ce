import fs from "node:fs/promises";
import { readLedgerRows } from "../read-ledger-rows.js";
import { readStoredCheckpoints } from "../read-stored-checkpoints.js";
import { verifyLedger } from "../verify-ledger.js";
import { verifyLedgerFile } from "../verify-ledger-file.js";
import type { AuditCliContext } from "./audit-cli-context.js";
import { AuditCliError, AuditExitCode } from "./audit-cli-error.js";
import { createProgressBar } from "./create-progress-bar.js";
import { formatThroughput } from "./format-throughput.js";
import { openAuditDatabase } from "./open-audit-database.js";
import type { VerifyArgs } from "./parse-audit-args.js";
import { printLedgerFailure } from "./print-ledger-failure.js";
import { failureJson, type VerifyResultJson } from "./verify-result-json.js";

/** `audit verify`: the whole chain in the database, or an export file with --file. */
export async function runVerifyCommand(args: VerifyArgs, ctx: AuditCliContext): Promise<number> {
  return args.file === null ? verifyDatabase(args, ctx) : verifyFile(args.file, args, ctx);
}

async function verifyDatabase(args: VerifyArgs, ctx: AuditCliContext): Promise<number> {
  const { out } = ctx;
  const db = await openAuditDatabase(ctx);
  try {
    // Read before the entries: a checkpoint row is only written after its entry committed,
    // so every checkpoint read here is at or below the head the stream will reach.
    const stored = await readStoredCheckpoints(db.prisma);
    const checkpoints = [...stored, ...args.checkpoints];
    const [head] = await db.query("SELECT coalesce(max(seq), 0)::text FROM ledger_entry", []);
    const bar = createProgressBar(ctx.progress, Number(head?.[0] ?? 0), "entries");

    const started = performance.now();
    const result = await verifyLedger(readLedgerRows(db.query), {
      checkpoints,
      checkpointsBeyondHead: "fail",
      progressEvery: 20_000,
      onProgress: (progress) => bar.update(progress.entries),
    });
    const elapsed = performance.now() - started;
    bar.finish();

    if (args.json) {
      const json: VerifyResultJson = {
        source: "database",
        target: db.description,
        ok: result.ok,
        verdict: !result.ok ? "failed" : result.entries === 0 ? "empty" : "intact",
        entries: result.ok ? result.entries : 0,
        firstSeq: result.ok ? (result.firstSeq?.toString() ?? null) : null,
        lastSeq: result.ok && result.entries > 0 ? result.headSeq.toString() : null,
        lastHash: result.ok && result.entries > 0 ? result.headHash : null,
        checkpointsChecked: result.ok ? result.checkpointsChecked : 0,
        checkpointsUnchecked: 0,
        failure: result.ok ? null : failureJson(result),
        bytes: result.ok ? result.bytes : 0,
        elapsedMs: Math.round(elapsed),
      };
      out.log(JSON.stringify(json));
      return result.ok ? AuditExitCode.ok : AuditExitCode.failed;
    }
    if (!result.ok) {
      printLedgerFailure(out, result, `Entries of ${db.description}`);
      return AuditExitCode.failed;
    }
    if (result.entries === 0) {
      out.log(`The ledger in ${db.description} is empty: nothing to verify.`);
      return AuditExitCode.ok;
    }
    out.log(`Ledger intact: ${result.entries.toLocaleString("en-US")} entries, seq 1..${result.headSeq}, every hash and link checked (${db.description}).`);
    out.log(`Head: seq ${result.headSeq} hash ${result.headHash}`);
    out.log(`Checkpoints checked: ${result.checkpointsChecked} (${stored.length} from ledger_checkpoint, ${args.checkpoints.length} from --checkpoint)`);
    if (args.checkpoints.length === 0) {
      out.log(
        "Note: without --checkpoint this shows the chain is consistent, not that it is the chain that was published; pass the latest checkpoint from the audit channel (--checkpoint SEQ:HASH) to rule out a rewrite by a database superuser.",
      );
    }
    out.log(`Verified in ${formatThroughput(result.entries, result.bytes, elapsed)}`);
    return AuditExitCode.ok;
  } finally {
    await db.close();
  }
}

async function verifyFile(file: string, args: VerifyArgs, ctx: AuditCliContext): Promise<number> {
  const { out } = ctx;
  let size: number;
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) throw new Error("not a regular file");
    size = stat.size;
  } catch (error) {
    throw new AuditCliError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}. Create one with: accessbot audit export --format jsonl --out ${file}`);
  }
  const bar = createProgressBar(ctx.progress, size, "bytes");
  const started = performance.now();
  const result = await verifyLedgerFile(file, { checkpoints: args.checkpoints, onProgress: (progress) => bar.update(progress.fileBytes) });
  const elapsed = performance.now() - started;
  bar.finish();

  if (args.json) {
    const json: VerifyResultJson = {
      source: "file",
      target: file,
      ok: result.ok,
      verdict: result.ok ? result.verdict : "failed",
      entries: result.ok ? result.entries : 0,
      firstSeq: result.ok ? (result.firstSeq?.toString() ?? null) : null,
      lastSeq: result.ok ? (result.lastSeq?.toString() ?? null) : null,
      lastHash: result.ok ? result.lastHash : null,
      checkpointsChecked: result.ok ? result.checkpointsChecked : 0,
      checkpointsUnchecked: result.ok ? result.checkpointsUnchecked : 0,
      failure: result.ok ? null : failureJson(result),
      bytes: result.ok ? result.bytes : 0,
      elapsedMs: Math.round(elapsed),
    };
    out.log(JSON.stringify(json));
    return !result.ok ? AuditExitCode.failed : result.verdict === "partial" ? AuditExitCode.partial : AuditExitCode.ok;
  }
  if (!result.ok) {
    printLedgerFailure(out, result, `Entries of ${file}`);
    return AuditExitCode.failed;
  }
  const range = result.entries > 0 ? `, seq ${result.firstSeq}..${result.lastSeq}` : "";
  const summary = `${result.entries.toLocaleString("en-US")} entries${range}`;
  const checkpoints = `Checkpoints checked: ${result.checkpointsChecked}${result.checkpointsUnchecked > 0 ? ` (${result.checkpointsUnchecked} outside this file, not checked)` : ""}`;
  switch (result.verdict) {
    case "complete":
      out.log(`Export intact: ${summary}, complete from genesis (${result.explanation}).`);
      break;
    case "anchored":
      out.log(`Export intact and anchored: ${summary} (${result.explanation}).`);
      break;
    case "partial":
      out.log(`Export is partial, not anchored: ${summary}. Every entry's own hash recomputes, but ${result.explanation}.`);
      break;
  }
  if (result.lastHash) out.log(`Last entry: seq ${result.lastSeq} hash ${result.lastHash}`);
  out.log(checkpoints);
  out.log(`Verified in ${formatThroughput(result.entries, result.bytes, elapsed)}`);
  return result.verdict === "partial" ? AuditExitCode.partial : AuditExitCode.ok;
}

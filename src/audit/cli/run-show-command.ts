import { sha256OfCanonical } from "../../ledger/ledger-hash.js";
import { checkLedgerEntry } from "../check-ledger-entry.js";
import { describeLedgerEvent } from "../describe-ledger-event.js";
import type { LedgerRecord } from "../../ledger/ledger-record.js";
import { renderSeenBlocks } from "../render-seen-blocks.js";
import { sanitizeTerminalText } from "../sanitize-terminal-text.js";
import type { AuditCliContext } from "./audit-cli-context.js";
import { AuditExitCode } from "./audit-cli-error.js";
import { openAuditDatabase } from "./open-audit-database.js";
import type { ShowArgs } from "./parse-audit-args.js";

type Json = Record<string, unknown>;

/**
 * `audit show <request-id>`: the story of one request from the ledger alone: every event in
 * order, who did it (as Slack identified them then), when, how the rules were evaluated, and
 * what each approver saw when they clicked, re-rendered from the stored blocks with a check
 * that those blocks still hash to what was recorded. Exit 1 if an entry does not recompute.
 */
export async function runShowCommand(args: ShowArgs, ctx: AuditCliContext): Promise<number> {
  const db = await openAuditDatabase(ctx);
  try {
    const rows = await db.prisma.ledgerEntry.findMany({ where: { requestId: args.requestId }, orderBy: { seq: "asc" } });
    if (rows.length === 0) {
      ctx.out.error(`No ledger entries for request ${args.requestId}. Check the id in the request message (ids look like AR-7K3F9Q2M).`);
      return AuditExitCode.failed;
    }
    const records: LedgerRecord[] = rows.map((row) => ({ ...row, ts: row.ts.toISOString() }));
    const policies = new Set((await db.prisma.policyVersion.findMany({ where: { sha256: { in: [...new Set(records.map(policyOf).filter((sha): sha is string => sha !== null))] } }, select: { sha256: true } })).map((row) => row.sha256));
    const current = await db.prisma.accessRequest.findUnique({ where: { id: args.requestId }, include: { grant: true } });

    const lines: string[] = [];
    const first = parse(records[0]!.body);
    const requester = describeLedgerEvent(records[0]!.type, first);
    const subject = records[0]!.subjectId ?? requester.actorId ?? "?";
    lines.push(`Request ${args.requestId}: ${records[0]!.resource ?? "?"}, for ${subject}${requester.actorId === subject ? ` (${who(requester)})` : ""}`);
    if (current) {
      const grant = current.grant ? `; grant ${current.grant.id} ${current.grant.status} ${current.grant.activatedAt.toISOString()} → ${current.grant.expiresAt.toISOString()}` : "";
      lines.push(`Current state (access_request table): ${current.status}${grant}`);
    }
    const failures = records.map((record) => checkLedgerEntry(record));
    const bad = failures.filter((failure) => failure !== null).length;
    lines.push(
      `${records.length} ledger ${records.length === 1 ? "entry" : "entries"}: seq ${records.map((record) => record.seq).join(", ")}. ` +
        (bad === 0 ? "Each entry's own hash recomputes; `accessbot audit verify` checks them against the whole chain." : `${bad} DO NOT recompute: see below, and run \`accessbot audit verify\`.`),
    );

    records.forEach((record, index) => {
      const body = parse(record.body);
      const type = typeof body.type === "string" ? body.type : record.type;
      const event = describeLedgerEvent(type, body);
      const data = (typeof body.data === "object" && body.data !== null ? body.data : {}) as Json;
      lines.push("", `#${record.seq}  ${typeof body.ts === "string" ? body.ts : record.ts}  ${type}`);
      const system = (body.actor as Json | undefined)?.kind === "system";
      lines.push(`  who       ${system ? `${event.actorName ?? "accessbot"} (system)` : who(event)}`);
      lines.push(`  what      ${event.details}`);
      if (event.reason !== null) lines.push(`  reason    ${indent(`“${event.reason}”`)}`);
      if (Array.isArray(data.voter_groups)) lines.push(`  groups    the voter was in: ${data.voter_groups.map(String).join(", ") || "none"}`);
      if (event.countedToward !== null || type === "vote.approved") lines.push(`  counted   toward ${event.countedToward ?? "no rule (not needed, or the voter's approval could not count)"}`);
      pushEvaluation(lines, data);
      if (Array.isArray(data.eligible_approvers)) lines.push(`  approvers eligible: ${data.eligible_approvers.map(String).join(", ") || "none"}`);
      if (event.policySha256) lines.push(`  policy    sha256 ${event.policySha256}${policies.has(event.policySha256) ? " (its text is in policy_version)" : " (text not on record)"}`);
      if ("seen" in data) pushSeen(lines, data.seen);
      const failure = failures[index];
      lines.push(`  entry     hash ${record.hash} ${failure ? `DOES NOT CHECK OUT: ${failure.reason}: ${failure.detail}` : "(recomputes)"}`);
    });
    for (const line of lines) ctx.out.log(sanitizeTerminalText(line));
    return bad === 0 ? AuditExitCode.ok : AuditExitCode.failed;
  } finally {
    await db.close();
  }
}

function who(event: ReturnType<typeof describeLedgerEvent>): string {
  const extra = [event.actorRealName, event.actorEmail ? `<${event.actorEmail}>` : null].filter(Boolean).join(" ");
  return `${event.actorId ?? "?"} ${event.actorName ?? ""}${extra ? ` — ${extra}` : ""}${event.actorTeamId ? ` (team ${event.actorTeamId})` : ""}`.replace(/\s+/g, " ").trim();
}

/** Continuation lines of a multi-line value line up under its first line. */
function indent(text: string): string {
  return text.replace(/\r?\n/g, `\n${" ".repeat(12)}`);
}

function pushEvaluation(lines: string[], data: Json): void {
  const evaluation = data.evaluation as Json | undefined;
  if (typeof evaluation !== "object" || evaluation === null) return;
  const rules = Array.isArray(evaluation.rules) ? (evaluation.rules as Json[]) : [];
  lines.push(`  rules     ${evaluation.satisfied === true ? "all met after this vote" : "not yet met after this vote"}`);
  for (const rule of rules) {
    const approvers = Array.isArray(rule.approvers) ? rule.approvers.map(String) : [];
    const met = Number(rule.filled) >= Number(rule.required);
    lines.push(`            ${met ? "✓" : "✗"} ${String(rule.group)}: ${String(rule.filled)} of ${String(rule.required)}${approvers.length > 0 ? ` (${approvers.join(", ")})` : ""}`);
  }
  const missing = Array.isArray(evaluation.missing) ? (evaluation.missing as Json[]) : [];
  if (missing.length > 0) lines.push(`  missing   ${missing.map((rule) => `${String(rule.group)} ×${String(rule.missing)}`).join(", ")}`);
}

function pushSeen(lines: string[], seen: unknown): void {
  if (seen === null || typeof seen !== "object") {
    lines.push("  saw       (not recorded: the decision did not come from a message click, or the bot restarted between the click and the submit)");
    return;
  }
  const { blocks, sha256 } = seen as Json;
  let recomputed: string | null = null;
  try {
    recomputed = sha256OfCanonical(blocks);
  } catch {
    recomputed = null;
  }
  const verdict = recomputed === sha256 ? "recomputes from the stored blocks" : `DOES NOT recompute (the stored blocks hash to ${recomputed ?? "nothing: they are not canonical JSON"})`;
  lines.push(`  saw       sha256 ${String(sha256)}: ${verdict}`);
  for (const line of renderSeenBlocks(blocks)) lines.push(`            │ ${line}`);
}

function policyOf(record: LedgerRecord): string | null {
  const data = parse(record.body).data as Json | undefined;
  return typeof data?.policy_sha256 === "string" ? data.policy_sha256 : null;
}

function parse(body: string): Json {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
  } catch {
    return {};
  }
}

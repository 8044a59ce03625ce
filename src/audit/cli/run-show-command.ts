import { sha256OfCanonical } from "../../ledger/ledger-hash.js";
import { checkLedgerEntry } from "../check-ledger-entry.js";
import { describeLedgerEvent } from "../describe-ledger-event.js";
import type { PrismaClient } from "../../generated/prisma/client.js";
import type { LedgerRecord } from "../../ledger/ledger-record.js";
import { renderSeenBlocks } from "../render-seen-blocks.js";
import { sanitizeTerminalText } from "../sanitize-terminal-text.js";
import type { AuditCliContext } from "./audit-cli-context.js";
import { AuditExitCode } from "./audit-cli-error.js";
import { openAuditDatabase } from "./open-audit-database.js";
import type { ShowArgs } from "./parse-audit-args.js";

type Json = Record<string, unknown>;

/**
 * `audit show <request-id | grant-id>`: the story of one request from the ledger alone: every event in
 * order, who did it (as Slack identified them then), when, how the rules were evaluated, and
 * what each approver saw when they clicked, re-rendered from the stored blocks with a check
 * that those blocks still hash to what was recorded. Exit 1 if an entry does not recompute.
 */
export async function runShowCommand(args: ShowArgs, ctx: AuditCliContext): Promise<number> {
  const db = await openAuditDatabase(ctx);
  try {
    const requestId = await resolveRequestId(db.prisma, args.id);
    const rows = requestId === null ? [] : await db.prisma.ledgerEntry.findMany({ where: { requestId }, orderBy: { seq: "asc" } });
    if (requestId === null || rows.length === 0) {
      ctx.out.error(
        args.id.startsWith("GR-") || requestId !== args.id
          ? `No grant ${args.id} in the database or the ledger. Check the id (grant ids look like GR-4H7K2M9Q and appear in the grant's messages and in \`audit export\`).`
          : `No ledger entries for request ${args.id}. Check the id in the request message (ids look like AR-7K3F9Q2M; a grant id GR-… works too).`,
      );
      return AuditExitCode.failed;
    }
    const records: LedgerRecord[] = rows.map((row) => ({ ...row, ts: row.ts.toISOString() }));
    const policies = new Set((await db.prisma.policyVersion.findMany({ where: { sha256: { in: [...new Set(records.map(policyOf).filter((sha): sha is string => sha !== null))] } }, select: { sha256: true } })).map((row) => row.sha256));
    const current = await db.prisma.accessRequest.findUnique({ where: { id: requestId }, include: { grant: true } });
    const grantId = requestId !== args.id ? args.id : null;
    if (args.json) {
      const json = showJson(requestId, grantId, records, policies, current);
      ctx.out.log(JSON.stringify(json));
      return json.ok ? AuditExitCode.ok : AuditExitCode.failed;
    }

    const lines: string[] = [];
    const first = parse(records[0]!.body);
    const requester = describeLedgerEvent(records[0]!.type, first);
    const subject = records[0]!.subjectId ?? requester.actorId ?? "?";
    if (grantId !== null) lines.push(`Grant ${grantId} was opened by request ${requestId}.`);
    lines.push(`Request ${requestId}: ${records[0]!.resource ?? "?"}, for ${subject}${requester.actorId === subject ? ` (${who(requester)})` : ""}`);
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

/**
 * A request id as given, or the request that opened a grant: the grant table first, then the
 * ledger itself (its grant entries name the grant), so a grant whose row is gone is found too.
 */
async function resolveRequestId(prisma: PrismaClient, id: string): Promise<string | null> {
  if (!id.startsWith("GR-")) return id;
  const grant = await prisma.grant.findUnique({ where: { id }, select: { requestId: true } });
  if (grant) return grant.requestId;
  const [entry] = await prisma.$queryRaw<Array<{ request_id: string }>>`
    SELECT request_id FROM ledger_entry
    WHERE request_id IS NOT NULL AND type LIKE 'grant.%' AND body LIKE ${`%"grant_id":"${id}"%`}
    ORDER BY seq LIMIT 1`;
  return entry?.request_id ?? null;
}

/** `audit show --json` (docs/cli.md, "audit show --json"). */
export interface ShowResultJson {
  requestId: string;
  /** The grant id asked for, when the command was given one. */
  grantId: string | null;
  resource: string | null;
  subjectId: string | null;
  /** The request's row now (access_request, and its grant), null if it is not in the table. */
  current: { status: string; grant: { id: string; status: string; activatedAt: string; expiresAt: string; endedAt: string | null } | null } | null;
  /** True when every entry's own hash recomputes (exit 0); false: exit 1. */
  ok: boolean;
  entries: Array<{
    seq: string;
    ts: string;
    type: string;
    actor: { id: string | null; name: string | null; realName: string | null; email: string | null; teamId: string | null; system: boolean };
    details: string;
    reason: string | null;
    countedToward: string | null;
    policySha256: string | null;
    /** Whether the policy's text is in policy_version. */
    policyOnRecord: boolean | null;
    /** What the approver saw, and whether the stored blocks still hash to what was recorded. */
    seen: { sha256: string; recomputes: boolean } | null;
    data: Json;
    hash: string;
    recomputes: boolean;
    failure: { reason: string; detail: string } | null;
  }>;
}

type CurrentRequest = { status: string; grant: { id: string; status: string; activatedAt: Date; expiresAt: Date; endedAt: Date | null } | null } | null;

function showJson(requestId: string, grantId: string | null, records: LedgerRecord[], policies: Set<string>, current: CurrentRequest): ShowResultJson {
  const entries = records.map((record) => {
    const body = parse(record.body);
    const type = typeof body.type === "string" ? body.type : record.type;
    const event = describeLedgerEvent(type, body);
    const data = (typeof body.data === "object" && body.data !== null ? body.data : {}) as Json;
    const failure = checkLedgerEntry(record);
    const seen = typeof data.seen === "object" && data.seen !== null ? (data.seen as Json) : null;
    let seenRecomputes = false;
    try {
      seenRecomputes = seen !== null && sha256OfCanonical(seen.blocks) === seen.sha256;
    } catch {
      seenRecomputes = false;
    }
    return {
      seq: record.seq.toString(),
      ts: typeof body.ts === "string" ? body.ts : record.ts,
      type,
      actor: { id: event.actorId, name: event.actorName, realName: event.actorRealName, email: event.actorEmail, teamId: event.actorTeamId, system: (body.actor as Json | undefined)?.kind === "system" },
      details: event.details,
      reason: event.reason,
      countedToward: event.countedToward,
      policySha256: event.policySha256,
      policyOnRecord: event.policySha256 ? policies.has(event.policySha256) : null,
      seen: seen === null ? null : { sha256: String(seen.sha256), recomputes: seenRecomputes },
      data,
      hash: record.hash,
      recomputes: failure === null,
      failure: failure === null ? null : { reason: failure.reason, detail: failure.detail },
    };
  });
  const first = records[0]!;
  return {
    requestId,
    grantId,
    resource: first.resource ?? null,
    subjectId: first.subjectId ?? describeLedgerEvent(first.type, parse(first.body)).actorId ?? null,
    current: current
      ? {
          status: current.status,
          grant: current.grant
            ? { id: current.grant.id, status: current.grant.status, activatedAt: current.grant.activatedAt.toISOString(), expiresAt: current.grant.expiresAt.toISOString(), endedAt: current.grant.endedAt?.toISOString() ?? null }
            : null,
        }
      : null,
    ok: entries.every((entry) => entry.recomputes),
    entries,
  };
}

import { sanitizeTerminalText } from "../audit/sanitize-terminal-text.js";
import type { DigestReport } from "./build-digest-report.js";

const change = (now: number, before: number) => (before === now ? "same as" : `${now > before ? "+" : ""}${now - before} vs`);
const seconds = (value: number | null) => (value === null ? "n/a" : value < 120 ? `${value.toFixed(0)} s` : value < 7200 ? `${(value / 60).toFixed(1)} min` : `${(value / 3600).toFixed(1)} h`);

/** `accessbot digest --print`: the digest as readable text, the previous period beside it. */
export function formatDigestText(report: DigestReport): string {
  const p = report.previous;
  const clean = (text: string) => sanitizeTerminalText(text);
  const lines = [
    `Access digest ${report.period.first_day} to ${report.period.last_day} (${report.period.timezone}; the previous period in brackets)`,
    "",
    `Requests      ${report.requests}  (${change(report.requests, p.requests)} ${p.requests})`,
    `  approved    ${report.approved}  (${p.approved})`,
    `  denied      ${report.denied}  (${p.denied})`,
    `  expired unanswered ${report.expired}  (${p.expired})`,
    `  cancelled   ${report.cancelled}  (${p.cancelled})`,
    `  break-glass ${report.break_glass}  (${p.break_glass})`,
    `Time to decision  median ${seconds(report.time_to_decision_p50_seconds)} (${seconds(p.time_to_decision_p50_seconds)}), 95th percentile ${seconds(report.time_to_decision_p95_seconds)} (${seconds(p.time_to_decision_p95_seconds)})`,
    `Granted hours ${report.granted_hours}  (${p.granted_hours})`,
  ];
  const list = (title: string, rows: string[]) => {
    lines.push("", title);
    lines.push(...(rows.length ? rows.map((row) => `  ${row}`) : ["  none"]));
  };
  list("Longest grants", report.longest_grants.map((g) => `${g.hours} h  ${clean(g.resource)}  ${g.user_id}  (${g.grant_id})`));
  list("Top resources", report.top_resources.map((r) => `${r.requests}  ${clean(r.resource)}`));
  list("Top requesters", report.top_requesters.map((r) => `${r.requests}  ${clean(r.name)} (${r.user_id})`));
  list("Approvals per approver", report.top_approvers.map((a) => `${a.approvals}  ${clean(a.name)} (${a.user_id}), median ${seconds(a.median_seconds_to_approve)} after the request`));
  list("Break-glass", report.break_glass_uses.map((b) => `${b.request_id}  ${clean(b.resource)}  ${b.user_id}  review ${b.review}${b.overdue ? "  OVERDUE" : ""}`));
  lines.push("", `Revocations that failed and were retried: ${report.revoke_failures.attempts} attempts on ${report.revoke_failures.grants} grants; grants that could not be provisioned: ${report.failed_grants}`);
  list("Alerts", report.alerts.map((a) => `#${a.seq} ${a.title ?? a.rule ?? a.type}${a.subject_id ? ` ${a.subject_id}` : ""}${a.request_id ? ` ${a.request_id}` : ""}`).concat(report.alerts_total > report.alerts.length ? [`… and ${report.alerts_total - report.alerts.length} more (accessbot audit export --format csv, type alert.raised)`] : []));
  const ledger = report.ledger;
  lines.push(
    "",
    ledger.verified
      ? `Ledger: verified ${ledger.entries.toLocaleString("en-US")} entries, intact; head seq ${ledger.head_seq} hash ${ledger.head_hash ?? "(empty)"}`
      : `Ledger: NOT VERIFIED: ${ledger.problem ?? "unknown problem"}; head seq ${ledger.head_seq}`,
  );
  return lines.join("\n");
}

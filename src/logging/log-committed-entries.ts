import type { Logger } from "pino";
import type { CommitWrites } from "../db/prisma-access-store.js";

/** What each ledger entry means, for someone reading the log; other types are logged by name. */
const MESSAGES: Record<string, string> = {
  "request.created": "access requested",
  "request.unsatisfiable": "access requested, but no approvers could ever satisfy the policy",
  "request.break_glass": "break-glass access taken",
  "vote.approved": "approval recorded",
  "request.denied": "request denied",
  "request.cancelled": "request cancelled",
  "request.expired": "request expired without enough approvals",
  "request.reminded": "approvers reminded",
  "grant.provisioning": "request approved; provisioning access",
  "grant.activated": "access granted",
  "grant.provisioned": "access provisioned on the target system",
  "grant.provision_failed": "provisioning failed; it will be retried",
  "grant.failed": "provisioning given up; the grant failed",
  "grant.extended": "grant extended",
  "grant.extension_refused": "extension refused",
  "grant.extension_provisioned": "extension provisioned on the target system",
  "grant.extension_provision_failed": "extension provisioning failed; it will be retried",
  "grant.expired": "grant expired; revoking",
  "grant.revoked": "grant ended early; revoking",
  "grant.deprovisioned": "access revoked on the target system",
  "grant.deprovision_failed": "revoke failed; it will be retried until it succeeds",
  "break_glass.reviewed": "break-glass use reviewed",
};

/**
 * One info line per committed ledger entry (request, vote, grant, revoke…), with its ids: an
 * operator can follow a request through the log with `grep AR-…`. Logged after the commit, so
 * the log never shows what the ledger does not hold.
 */
export function logCommittedEntries(log: Logger, wrote: CommitWrites): void {
  for (const entry of wrote.entries) {
    log.info(
      {
        event: entry.type,
        seq: entry.seq.toString(),
        ...(entry.requestId ? { requestId: entry.requestId } : {}),
        ...(entry.grantId ? { grantId: entry.grantId } : {}),
        ...(entry.resource ? { resource: entry.resource } : {}),
        ...(entry.subjectId ? { subject: entry.subjectId } : {}),
        ...(entry.actorId ? { actor: entry.actorId } : {}),
      },
      MESSAGES[entry.type] ?? entry.type,
    );
  }
}

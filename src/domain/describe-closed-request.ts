import type { AccessRequestRecord } from "./access-records.js";

/** Why a click on a request that is no longer pending changes nothing, as a sentence. */
export function describeClosedRequest(request: AccessRequestRecord): string {
  const when = request.decidedAt ? ` at ${request.decidedAt.toISOString().replace("T", " ").slice(0, 16)} UTC` : "";
  const by = request.decidedBy ? ` by <@${request.decidedBy}>` : "";
  switch (request.status) {
    case "APPROVED":
      return `Request ${request.id} was already approved${when}. Nothing was changed.`;
    case "DENIED":
      return `Request ${request.id} was already denied${by}${when}. Nothing was changed.`;
    case "CANCELLED":
      return `Request ${request.id} was cancelled by the requester${when}. Nothing was changed.`;
    case "EXPIRED":
      return `Request ${request.id} expired${when} without enough approvals. Nothing was changed.`;
    case "UNSATISFIABLE":
      return `Request ${request.id} could never be approved under the policy and was closed. Nothing was changed.`;
    case "PENDING":
      return `Request ${request.id} is still pending.`;
  }
}

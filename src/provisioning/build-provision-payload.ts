import type { ProvisionContext } from "../domain/ports.js";

export type ProvisionAction = "grant" | "revoke" | "extend";

/**
 * The JSON a webhook receives and a command reads on stdin, one shape for both so a target
 * can be moved from one to the other. Key order is fixed (it is what gets signed).
 */
export interface ProvisionPayload {
  action: ProvisionAction;
  grant_id: string;
  request_id: string;
  resource: string;
  user: { id: string; email: string | null; name: string | null };
  expires_at: string;
  reason: string;
  attempt: number;
  /** Only for `extend`: the expiry before this extension. */
  previous_expires_at?: string;
}

export function buildProvisionPayload(action: ProvisionAction, context: ProvisionContext & { previousExpiresAt?: Date }): ProvisionPayload {
  const { grant, request, user, attempt } = context;
  return {
    action,
    grant_id: grant.id,
    request_id: request.id,
    resource: grant.resource,
    user: { id: user.id, email: user.email, name: user.name },
    expires_at: grant.expiresAt.toISOString(),
    reason: request.reason,
    attempt,
    ...(action === "extend" && context.previousExpiresAt ? { previous_expires_at: context.previousExpiresAt.toISOString() } : {}),
  };
}

/** Rejects at once if the caller has already given up, so no side effect starts late. */
export function throwIfAborted(signal: AbortSignal, what: string): void {
  if (signal.aborted) throw new Error(`${what} was abandoned: the provisioner's timeout ran out`);
}

import type { Logger } from "pino";
import type { AccessRequestRecord, GrantRecord } from "../domain/access-records.js";
import type { Provisioner } from "../domain/ports.js";

/**
 * Records in the log what a real provisioner would do. Granting on target systems comes in
 * a later issue; the lifecycle already calls this on activation and on expiry or revocation.
 */
export class LogOnlyProvisioner implements Provisioner {
  constructor(private readonly log: Logger) {}

  async grant(grant: GrantRecord, request: AccessRequestRecord): Promise<void> {
    this.log.info({ grantId: grant.id, user: grant.userId, resource: grant.resource, expiresAt: grant.expiresAt, requestId: request.id }, "grant activated (no provisioner configured)");
  }

  async revoke(grant: GrantRecord, reason: "expired" | "revoked"): Promise<void> {
    this.log.info({ grantId: grant.id, user: grant.userId, resource: grant.resource, reason }, "grant ended (no provisioner configured)");
  }
}

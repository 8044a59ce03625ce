import type { AccessRequestRecord, GrantRecord } from "./access-records.js";
import { SYSTEM_ACTOR } from "./describe-actor.js";
import type { EffectResult } from "./effects.js";
import { enqueueDeprovision, enqueueNotice, enqueueRefresh } from "./enqueue-effects.js";
import type { AccessDeps, AccessTx, GranteeProfile, ProvisionResult } from "./ports.js";

const MAX_REVOKE_BACKOFF_MS = 5 * 60 * 1000;
const MAX_GRANT_BACKOFF_MS = 5 * 60 * 1000;

/** Backoff before attempt `attempt + 1`: 5 s, 10 s, 20 s, … capped. */
export function provisioningBackoffMs(attempt: number, capMs: number): number {
  return Math.min(capMs, 5000 * 2 ** Math.min(Math.max(attempt - 1, 0), 16));
}

/**
 * The durable "provision" job: calls the resource's provisioner for a PROVISIONING grant.
 * On success the grant becomes ACTIVE, its window starting now. On failure the attempt is
 * recorded and retried with backoff; after `maxAttempts` the grant is FAILED and whatever a
 * partial attempt may have granted is revoked by a clean-up job, so nothing stays half-granted.
 */
export async function provisionGrant(deps: AccessDeps, grantId: string, attempt: number, now: Date): Promise<EffectResult> {
  const found = await loadGrant(deps, grantId);
  if (!found || found.grant.status !== "PROVISIONING") return { kind: "done" };
  const { grant, request } = found;
  const resource = deps.policy.current().policy.resources[grant.resource];
  const provisioner = deps.provisioners.forResource(grant.resource);
  const settings = resource?.provisioner;
  if (!provisioner || !settings) {
    // The policy no longer provisions this resource: the approval still stands, as approval-only.
    await deps.store.transaction(async (tx) => {
      const locked = await tx.lockGrant(grant.id);
      if (locked?.status !== "PROVISIONING") return;
      await activate(tx, locked, request, now, { provisioner: null, note: "the resource has no provisioner in the policy in force" });
    });
    return { kind: "done" };
  }

  const state = await deps.store.getProvisionerState(grant.resource, grant.userId);
  const outcome = await callProvisioner(settings.timeoutSeconds, async (signal) => provisioner.grant({ grant, request, user: await profileOf(deps, grant.userId), attempt, state, signal }));
  if (outcome.ok) {
    await deps.store.transaction(async (tx) => {
      // Saved even if the grant was revoked meanwhile: the access now exists on the target,
      // and the revoke (queued behind this job in the same lane) needs to know what was done.
      if (outcome.result.state !== undefined) await tx.setProvisionerState(grant.resource, grant.userId, outcome.result.state);
      const locked = await tx.lockGrant(grant.id);
      if (locked?.status !== "PROVISIONING") return;
      await tx.appendLedger(
        { ...grantEvent(locked), type: "grant.provisioned", data: { grant_id: locked.id, attempt, provisioner: settings.type, detail: outcome.result.detail ?? {} } },
        now,
      );
      await activate(tx, locked, request, now, { provisioner: settings.type });
    });
    return { kind: "done" };
  }

  const retryAt = new Date(now.getTime() + provisioningBackoffMs(attempt, MAX_GRANT_BACKOFF_MS));
  const giveUp = attempt >= settings.maxAttempts;
  await deps.store.transaction(async (tx) => {
    const locked = await tx.lockGrant(grant.id);
    if (locked?.status !== "PROVISIONING") return;
    await tx.appendLedger(
      { ...grantEvent(locked), type: "grant.provision_failed", data: { grant_id: locked.id, attempt, max_attempts: settings.maxAttempts, provisioner: settings.type, error: outcome.error, retry_at: giveUp ? null : retryAt.toISOString() } },
      now,
    );
    if (giveUp) {
      await tx.transitionGrant(locked.id, "PROVISIONING", { status: "FAILED", endedAt: now, endReason: "provisioning failed" });
      await tx.appendLedger({ ...grantEvent(locked), type: "grant.failed", data: { grant_id: locked.id, attempts: attempt, error: outcome.error } }, now);
      // Why: an attempt may have half-succeeded on the target (timeout after the change), so the
      // clean-up revoke always runs; revoking what is not there succeeds.
      await enqueueDeprovision(tx, { ...locked, provisioner: settings.type });
      await enqueueNotice(tx, locked.userId, { kind: "provisioning-failed", requestId: locked.requestId, grantId: locked.id, attempts: attempt, error: outcome.error }, `provisioning-failed:${locked.id}`);
      await enqueueRefresh(tx, locked.requestId);
    } else if (attempt === 1) {
      await enqueueNotice(tx, locked.userId, { kind: "provisioning-slow", requestId: locked.requestId, grantId: locked.id, attempt, error: outcome.error, retryAt: retryAt.toISOString() }, `provisioning-slow:${locked.id}`);
    }
  });
  return giveUp ? { kind: "done" } : { kind: "retry", at: retryAt, error: outcome.error };
}

/**
 * The durable "deprovision" job for an ended grant (EXPIRED, REVOKED or FAILED). Retried
 * until the target system confirms; never dropped. When another grant of the same person
 * and resource still needs the access, nothing is taken away and the ledger says which
 * grant covers it: that grant's own revoke removes the access when it ends.
 */
export async function deprovisionGrant(deps: AccessDeps, grantId: string, attempt: number, now: Date): Promise<EffectResult> {
  const found = await loadGrant(deps, grantId);
  if (!found) return { kind: "done" };
  const { grant, request } = found;
  if (grant.deprovisionedAt || grant.provisioner === null || grant.status === "ACTIVE" || grant.status === "PROVISIONING") return { kind: "done" };

  const covered = await deps.store.transaction(async (tx) => {
    const covering = await tx.coveringGrants(grant);
    if (covering.length === 0) return false;
    await tx.patchGrant(grant.id, { deprovisionedAt: now });
    await tx.appendLedger(
      { ...grantEvent(grant), type: "grant.deprovisioned", data: { grant_id: grant.id, attempt, provisioner: grant.provisioner, kept_for: covering.map((other) => other.id), detail: { skipped: "another active grant of this person and resource still covers the access" } } },
      now,
    );
    return true;
  });
  if (covered) return { kind: "done" };

  const provisioner = deps.provisioners.forResource(grant.resource);
  const settings = deps.policy.current().policy.resources[grant.resource]?.provisioner;
  const outcome: CallOutcome =
    provisioner && settings && settings.type === grant.provisioner
      ? await callProvisioner(settings.timeoutSeconds, async (signal) =>
          provisioner.revoke({ grant, request, user: await profileOf(deps, grant.userId), attempt, state: await deps.store.getProvisionerState(grant.resource, grant.userId), signal }),
        )
      : { ok: false, error: `the policy in force no longer has a ${grant.provisioner} provisioner for ${grant.resource}: revoke this access by hand, or restore the provisioner` };

  if (outcome.ok) {
    await deps.store.transaction(async (tx) => {
      await tx.setProvisionerState(grant.resource, grant.userId, outcome.result.state === undefined ? null : outcome.result.state);
      await tx.patchGrant(grant.id, { deprovisionedAt: now });
      await tx.appendLedger({ ...grantEvent(grant), type: "grant.deprovisioned", data: { grant_id: grant.id, attempt, provisioner: grant.provisioner, detail: outcome.result.detail ?? {} } }, now);
    });
    return { kind: "done" };
  }
  const retryAt = new Date(now.getTime() + provisioningBackoffMs(attempt, MAX_REVOKE_BACKOFF_MS));
  // Each failed attempt is a ledger entry, so the audit channel shows the revoke failing
  // for as long as it keeps failing.
  await deps.store.transaction((tx) =>
    tx.appendLedger({ ...grantEvent(grant), type: "grant.deprovision_failed", data: { grant_id: grant.id, attempt, provisioner: grant.provisioner, error: outcome.error, retry_at: retryAt.toISOString() } }, now),
  );
  return { kind: "retry", at: retryAt, error: outcome.error };
}

/** Tells a target that enforces the window itself that it moved; access itself never lapses. */
export async function extendProvision(deps: AccessDeps, grantId: string, previousExpiresAt: Date, attempt: number, now: Date): Promise<EffectResult> {
  const found = await loadGrant(deps, grantId);
  if (!found || found.grant.status !== "ACTIVE") return { kind: "done" };
  const { grant, request } = found;
  const provisioner = deps.provisioners.forResource(grant.resource);
  const settings = deps.policy.current().policy.resources[grant.resource]?.provisioner;
  if (!provisioner?.extend || !settings) return { kind: "done" };
  const extend = provisioner.extend.bind(provisioner);
  const outcome = await callProvisioner(settings.timeoutSeconds, async (signal) =>
    extend({ grant, request, user: await profileOf(deps, grant.userId), attempt, state: await deps.store.getProvisionerState(grant.resource, grant.userId), signal, previousExpiresAt }),
  );
  if (outcome.ok) {
    await deps.store.transaction((tx) =>
      tx.appendLedger({ ...grantEvent(grant), type: "grant.extension_provisioned", data: { grant_id: grant.id, attempt, expires_at: grant.expiresAt.toISOString(), detail: outcome.result.detail ?? {} } }, now),
    );
    return { kind: "done" };
  }
  const retryAt = new Date(now.getTime() + provisioningBackoffMs(attempt, MAX_GRANT_BACKOFF_MS));
  await deps.store.transaction((tx) =>
    tx.appendLedger({ ...grantEvent(grant), type: "grant.extension_provision_failed", data: { grant_id: grant.id, attempt, error: outcome.error, retry_at: retryAt.toISOString() } }, now),
  );
  return { kind: "retry", at: retryAt, error: outcome.error };
}

/** PROVISIONING → ACTIVE: the window starts when access really exists. */
export async function activate(tx: AccessTx, grant: GrantRecord, request: AccessRequestRecord, now: Date, how: { provisioner: string | null; note?: string }): Promise<GrantRecord> {
  const expiresAt = new Date(now.getTime() + request.durationSeconds * 1000);
  await tx.transitionGrant(grant.id, "PROVISIONING", { status: "ACTIVE", activatedAt: now, expiresAt });
  await tx.appendLedger(
    {
      ...grantEvent(grant),
      type: "grant.activated",
      data: {
        grant_id: grant.id,
        activated_at: now.toISOString(),
        expires_at: expiresAt.toISOString(),
        duration_seconds: request.durationSeconds,
        provisioner: how.provisioner,
        ...(how.note ? { note: how.note } : {}),
      },
    },
    now,
  );
  await enqueueNotice(tx, grant.userId, { kind: "outcome", requestId: grant.requestId, change: { kind: "activated" } }, `activated:${grant.id}`);
  await enqueueRefresh(tx, grant.requestId);
  return { ...grant, status: "ACTIVE", activatedAt: now, expiresAt };
}

export function grantEvent(grant: GrantRecord) {
  return { requestId: grant.requestId, subjectId: grant.userId, resource: grant.resource, actor: SYSTEM_ACTOR };
}

async function loadGrant(deps: AccessDeps, grantId: string): Promise<{ grant: GrantRecord; request: AccessRequestRecord } | null> {
  const grant = await deps.store.findGrant(grantId);
  if (!grant) return null;
  const snapshot = await deps.store.getSnapshot(grant.requestId);
  return snapshot ? { grant, request: snapshot.request } : null;
}

async function profileOf(deps: AccessDeps, userId: string): Promise<GranteeProfile> {
  try {
    const profile = await deps.directory.lookupUser(userId);
    return { id: userId, email: profile?.email ?? null, name: profile?.realName ?? profile?.name ?? null };
  } catch {
    // A provisioner that needs the email fails on its own with a clear message; one that
    // does not should not be blocked by a Slack hiccup.
    return { id: userId, email: null, name: null };
  }
}

type CallOutcome = { ok: true; result: ProvisionResult } | { ok: false; error: string };

/** Runs one provisioner call with its timeout: the signal is aborted and the call abandoned. */
async function callProvisioner(timeoutSeconds: number, call: (signal: AbortSignal) => Promise<ProvisionResult>): Promise<CallOutcome> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      call(controller.signal),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort(new Error(`timed out after ${timeoutSeconds} s`));
          reject(new Error(`the target system did not answer within ${timeoutSeconds} s`));
        }, timeoutSeconds * 1000);
      }),
    ]);
    return { ok: true, result: result ?? {} };
  } catch (error) {
    return { ok: false, error: (error instanceof Error ? error.message : String(error)).slice(0, 500) };
  } finally {
    clearTimeout(timer);
  }
}


import { z } from "zod";
import { SIGNATURE_HEADER, signWebhookBody, TIMESTAMP_HEADER } from "../audit-stream/webhook-audit-sink.js";
import type { ProvisionContext, Provisioner, ProvisionResult } from "../domain/ports.js";
import { buildProvisionPayload, type ProvisionAction } from "./build-provision-payload.js";
import { envVarName, ProvisionerConfigError, type ProvisionerType } from "./provisioner-type.js";

const TYPE = "webhook";
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";
/** How much of a failed answer is quoted in the error (and so in the ledger). */
const MAX_QUOTED_BODY = 200;

export interface WebhookOptions extends Record<string, unknown> {
  url: string;
  /** The environment variable holding the HMAC secret. */
  secretEnv: string;
}

export const webhookProvisionerType: ProvisionerType<WebhookOptions> = {
  type: TYPE,
  optionsShape: {
    url: z.url({ protocol: /^https?$/, error: (issue) => `'${String(issue.input)}' is not an http:// or https:// URL` }),
    secret_env: envVarName,
  },
  toOptions(file) {
    return { url: file.url as string, secretEnv: file.secret_env as string };
  },
  defaultTimeoutSeconds: 10,
  create(options, deps, resourceId) {
    const secret = deps.env[options.secretEnv];
    if (!secret) {
      throw new ProvisionerConfigError(
        `resource ${resourceId}: provisioner ${TYPE} needs the environment variable ${options.secretEnv} (the secret the webhook's requests are signed with); it is not set`,
      );
    }
    return new WebhookProvisioner(resourceId, options.url, secret);
  },
};

/**
 * POSTs each grant, revoke and extension as signed JSON (the same HMAC scheme as the audit
 * webhook). Receivers de-duplicate on the `idempotency-key` header: a retry sends the same key.
 */
export class WebhookProvisioner implements Provisioner {
  constructor(
    private readonly resourceId: string,
    private readonly url: string,
    private readonly secret: string,
  ) {}

  grant(context: ProvisionContext): Promise<ProvisionResult> {
    return this.post("grant", context, `${context.grant.id}:grant`);
  }

  revoke(context: ProvisionContext): Promise<ProvisionResult> {
    return this.post("revoke", context, `${context.grant.id}:revoke`);
  }

  extend(context: ProvisionContext & { previousExpiresAt: Date }): Promise<ProvisionResult> {
    // Each extension is its own change, so the new expiry is part of the key.
    return this.post("extend", context, `${context.grant.id}:extend:${context.grant.expiresAt.toISOString()}`);
  }

  private async post(action: ProvisionAction, context: ProvisionContext & { previousExpiresAt?: Date }, idempotencyKey: string): Promise<ProvisionResult> {
    const body = JSON.stringify(buildProvisionPayload(action, context));
    const timestamp = String(Math.floor(Date.now() / 1000));
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: signWebhookBody(this.secret, timestamp, body),
          [IDEMPOTENCY_KEY_HEADER]: idempotencyKey,
        },
        body,
        // A redirect would re-send the signed body somewhere the policy does not name.
        redirect: "manual",
        signal: context.signal,
      });
    } catch (error) {
      if (context.signal.aborted) throw new Error(`${TYPE} ${action} for resource ${this.resourceId} was abandoned: no answer before the provisioner's timeout`);
      throw new Error(`${TYPE} ${action} for resource ${this.resourceId} failed: ${describeFetchError(error)}`);
    }
    const text = await response.text().catch(() => "");
    if (response.status < 200 || response.status > 299) {
      const quoted = text.slice(0, MAX_QUOTED_BODY);
      throw new Error(`${TYPE} ${action} for resource ${this.resourceId}: the endpoint answered HTTP ${response.status}${quoted ? `: ${quoted}` : ""}`);
    }
    return { detail: { action, status: response.status } };
  }
}

function describeFetchError(error: unknown): string {
  // undici hides the reason (ECONNREFUSED, DNS, TLS) in `cause`.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  const message = cause?.message ?? (error instanceof Error ? error.message : String(error));
  return message;
}

/**
 * The policy and the people the sandbox starts with when ACCESS_POLICY_FILE is not set: a
 * requester, two groups of approvers (a static list and a Slack user group), an admin group
 * and an outsider, and resources that show each kind of provisioner (dry-run in the sandbox)
 * and an approval-only one.
 */
import type { SandboxPerson } from "./sandbox-people.js";

export const SAMPLE_APPROVAL_CHANNEL = "C0APPROVALS";
export const SAMPLE_AUDIT_CHANNEL = "C0AUDIT";

export const SAMPLE_PEOPLE: SandboxPerson[] = [
  { id: "U0ADA00001", name: "ada", realName: "Ada Lovelace", role: "requester · engineering" },
  { id: "U0GRACE001", name: "grace", realName: "Grace Hopper", role: "approver · sre-leads" },
  { id: "U0KEN00001", name: "ken", realName: "Ken Thompson", role: "approver · sre-leads" },
  { id: "U0BARBARA1", name: "barbara", realName: "Barbara Liskov", role: "approver · sre-leads" },
  { id: "U0RADIA001", name: "radia", realName: "Radia Perlman", role: "approver · security" },
  { id: "U0WHIT0001", name: "whitfield", realName: "Whitfield Diffie", role: "approver · security" },
  { id: "U0LINUS001", name: "linus", realName: "Linus Torvalds", role: "requester · engineering" },
  { id: "U0EVE00001", name: "eve", realName: "Eve Outsider", role: "outsider (in no group)" },
];

export const SAMPLE_USERGROUPS: Record<string, string[]> = {
  S0SECURITY: ["U0RADIA001", "U0WHIT0001"],
  S0ENG: ["U0ADA00001", "U0LINUS001", "U0GRACE001"],
  S0PRODACCESS: [],
};

export const SAMPLE_POLICY_YAML = `# The sandbox's sample policy (accessbot sandbox). Edit a copy and start the sandbox with
# ACCESS_POLICY_FILE=./my-policy.yml to try your own; see access-policy.example.yml for every key.
version: 1
settings:
  approval_channel: ${SAMPLE_APPROVAL_CHANNEL}
  audit_channel: ${SAMPLE_AUDIT_CHANNEL}
  timezone: Europe/Berlin
  request_ttl: 24h
  digest_schedule: "0 9 * * MON"
  admin_group: sre-leads
groups:
  sre-leads:
    members: [U0GRACE001, U0KEN00001, U0BARBARA1]
  security:
    usergroup: S0SECURITY
  engineering:
    usergroup: S0ENG
resources:
  prod-db:
    title: Production database (read-write)
    requesters: [engineering]
    default_duration: 1h
    max_duration: 4h
    require_reason: true
    approval:
      rules:
        - { group: sre-leads, count: 2 }
        - { group: security, count: 1 }
    provisioner:
      type: postgres-role
      connection_env: TARGET_PG_URL
      role: prod_rw
      logins: { U0ADA00001: ada, U0LINUS001: linus, U0GRACE001: grace }
  prod-incident-channels:
    title: Production incident channels
    approval:
      rules:
        - { group: sre-leads, count: 1 }
    provisioner:
      type: slack-usergroup
      usergroup: S0PRODACCESS
  aws-prod:
    title: AWS production account (admin)
    requesters: [engineering]
    max_duration: 2h
    approval:
      rules:
        - { group: sre-leads, count: 1 }
        - { group: security, count: 1 }
    provisioner:
      type: webhook
      url: https://grants.internal/aws
      secret_env: GRANT_WEBHOOK_SECRET
  staging-admin:
    title: Staging admin
    max_duration: 8h
    approval:
      rules:
        - { group: sre-leads, count: 1 }
    extension:
      requires_approval: false
      max_extensions: 2
    provisioner:
      type: command
      grant: ["/opt/grant", "k8s"]
      revoke: ["/opt/revoke", "k8s"]
  billing-console:
    title: Billing console (approval only)
    max_duration: 1h
    approval:
      rules:
        - { group: security, count: 1 }
`;

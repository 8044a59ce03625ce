/**
 * A valid policy whose static group `everyone` lists `members` and whose one resource,
 * `big-vote`, needs the approval `rules` (YAML list items, indented 8 spaces). For the
 * matching at the size of real user groups: test/approval-matching-scale.test.ts and
 * bench/approval-matching.bench.ts.
 */
export function bigGroupPolicyText(members: readonly string[], rules: string, extraGroups = ""): string {
  return `version: 1
settings:
  approval_channel: C0APPROVALS
  audit_channel: C0AUDIT
  timezone: Europe/Berlin
  request_ttl: 24h
  digest_schedule: "0 9 * * MON"
groups:
  everyone:
    members:
${members.map((id) => `      - ${id}`).join("\n")}
  engineering: { usergroup: S0ENG }
${extraGroups}resources:
  big-vote:
    title: Needs everyone
    requesters: [engineering]
    approval:
      rules:
${rules}
`;
}

import type { Policy } from "../domain/policy-model.js";
import type { SimChannel, SimUser } from "../slack-simulator/slack-simulator.js";

/** Someone the page can act as. */
export interface SandboxPerson {
  id: string;
  name: string;
  realName: string;
  /** What the person switcher says about them: requester, approver of which group, outsider. */
  role: string;
}

/** Who is in the sandbox's workspace: people, user groups and channels for the simulator. */
export interface SandboxWorkspace {
  people: SandboxPerson[];
  usergroups: Record<string, string[]>;
  channels: SimChannel[];
}

/** Where the sandbox people live; Slack's default zone is America/Los_Angeles, the sandbox shows the policy's. */
export function simUsersOf(people: SandboxPerson[], tz: string): SimUser[] {
  return people.map((person) => ({ id: person.id, name: person.name, realName: person.realName, displayName: person.realName, email: `${person.name}@sandbox.invalid`, tz }));
}

const MADE_UP_NAMES = ["Alex Rivera", "Sam Okafor", "Kim Nakamura", "Jo Schmidt", "Priya Raman", "Lee Dubois", "Noor Haddad", "Chris Novak", "Mia Santos", "Tom Berg", "Ana Costa", "Omar Farouk", "Eli Cohen", "Ivy Chen", "Max Weber", "Zoe Martin"];

/**
 * Makes up the people of a user's own policy from the ids in it: every user id a group lists
 * (or a postgres-role provisioner maps) becomes a person with a made-up name, each Slack user
 * group gets two made-up members, the requester is a made-up engineer in every user group that
 * may request (or the first member of a static requesters group), and an outsider is in no
 * group. Nothing here is looked up anywhere: the sandbox has no real Slack.
 */
export function makeUpWorkspace(policy: Policy): SandboxWorkspace {
  const people = new Map<string, SandboxPerson>();
  const roles = new Map<string, Set<string>>();
  let nameIndex = 0;
  const nextName = () => MADE_UP_NAMES[nameIndex++ % MADE_UP_NAMES.length]! + (nameIndex > MADE_UP_NAMES.length ? ` ${Math.ceil(nameIndex / MADE_UP_NAMES.length)}` : "");
  const person = (id: string, realName?: string): SandboxPerson => {
    let found = people.get(id);
    if (!found) {
      const name = realName ?? nextName();
      found = { id, name: name.split(" ")[0]!.toLowerCase() + (people.size + 1), realName: name, role: "" };
      people.set(id, found);
      roles.set(id, new Set());
    }
    return found;
  };
  const addRole = (id: string, role: string) => roles.get(id)?.add(role);

  const requesterGroups = new Set(Object.values(policy.resources).flatMap((resource) => resource.requesters ?? []));
  const approverGroups = new Set(Object.values(policy.resources).flatMap((resource) => resource.rules.map((rule) => rule.group)));
  const usergroups: Record<string, string[]> = {};
  // The requester first, so the switcher starts with them.
  const requester = person("U0SANDBOXREQ", "Sandbox Requester");
  addRole(requester.id, "requester");
  for (const [groupName, source] of Object.entries(policy.groups)) {
    const isApprover = approverGroups.has(groupName);
    const isRequester = requesterGroups.has(groupName);
    if (source.kind === "static") {
      for (const id of source.members) {
        person(id);
        addRole(id, `${isApprover ? "approver" : isRequester ? "requester" : "member"} · ${groupName}`);
      }
    } else {
      const members: string[] = [];
      for (let index = 1; index <= 2; index++) {
        const id = `U0${source.usergroupId.replace(/^S/, "").slice(0, 6).toUpperCase()}M${index}`;
        person(id);
        addRole(id, `${isApprover ? "approver" : "member"} · ${groupName}`);
        members.push(id);
      }
      if (isRequester) {
        members.push(requester.id);
        addRole(requester.id, groupName);
      }
      usergroups[source.usergroupId] = members;
    }
  }
  // Ids named only by provisioners (a postgres-role's logins) are people too.
  for (const resource of Object.values(policy.resources)) {
    const logins = resource.provisioner?.type === "postgres-role" ? ((resource.provisioner.options.logins ?? {}) as Record<string, string>) : {};
    for (const [id, login] of Object.entries(logins)) if (!people.has(id)) person(id, login);
    if (resource.provisioner?.type === "slack-usergroup") usergroups[String(resource.provisioner.options.usergroup)] ??= [];
  }
  const outsider = person("U0SANDBOXOUT", "Sandbox Outsider");
  addRole(outsider.id, "outsider (in no group)");
  const channels = sandboxChannels(policy);
  return {
    people: [...people.values()].map((found) => ({ ...found, role: [...(roles.get(found.id) ?? [])].join(", ") || "in no group" })),
    usergroups,
    channels,
  };
}

/** The approval and audit channels the policy names (the digest and reviews post there too). */
export function sandboxChannels(policy: Policy): SimChannel[] {
  const channels = new Map<string, SimChannel>();
  channels.set(policy.settings.approvalChannel, { id: policy.settings.approvalChannel, name: "access-approvals" });
  if (!channels.has(policy.settings.auditChannel)) channels.set(policy.settings.auditChannel, { id: policy.settings.auditChannel, name: "access-audit" });
  channels.set("C0GENERAL1", { id: "C0GENERAL1", name: "general" });
  return [...channels.values()];
}

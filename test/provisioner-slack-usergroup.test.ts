// The slack-usergroup provisioner against the Slack simulator (a real HTTP server speaking
// Slack's Web API), through a real WebClient.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { WebClient } from "@slack/web-api";
import { pino } from "pino";
import { z } from "zod";
import type { Provisioner } from "../src/domain/ports.js";
import { slackUsergroupProvisionerType } from "../src/provisioning/slack-usergroup-provisioner.js";
import { makeContext } from "./fixtures/provisioner-context.js";
import { startSlackSimulator, type SlackSimulator } from "../src/slack-simulator/slack-simulator.js";

const GROUP = "S0DBADMINS";
const EMPTY_GROUP = "S0EMPTY01";
const USERS = { alice: "U0ALICE01", bob: "U0BOB0001", carol: "U0CAROL01", dave: "U0DAVE001", erin: "U0ERIN001" };

describe("slack-usergroup provisioner (Slack simulator)", () => {
  let sim: SlackSimulator;
  let client: WebClient;
  let provisioner: Provisioner;

  const members = async (usergroup = GROUP): Promise<string[]> => (await client.usergroups.users.list({ usergroup })).users ?? [];
  const updates = (): number => sim.callsTo("usergroups.users.update").length;

  before(async () => {
    sim = await startSlackSimulator({
      users: Object.values(USERS).map((id) => ({ id, name: id.toLowerCase() })),
      usergroups: { [GROUP]: [USERS.bob, USERS.carol], [EMPTY_GROUP]: [] },
    });
    client = new WebClient(sim.botToken, { slackApiUrl: sim.apiUrl });
    provisioner = slackUsergroupProvisionerType.create(slackUsergroupProvisionerType.toOptions({ usergroup: GROUP }), { env: {}, slack: client, log: pino({ level: "silent" }) }, "dba-group");
  });

  after(() => sim.close());
  beforeEach(() => sim.reset());

  test("grant adds the person and keeps every other member; revoke removes only them; both idempotent", async () => {
    const granted = await provisioner.grant(makeContext({ user: USERS.alice }));
    assert.deepEqual(granted.state, { preexisting: false, usergroup: GROUP });
    assert.deepEqual(await members(), [USERS.bob, USERS.carol, USERS.alice]);

    const again = await provisioner.grant(makeContext({ user: USERS.alice, state: granted.state }));
    assert.deepEqual(again.state, granted.state);
    assert.equal(updates(), 1, "a second grant changes nothing");

    // Someone else joins meanwhile; the revoke must not undo that.
    await client.usergroups.users.update({ usergroup: GROUP, users: [...(await members()), USERS.dave].join(",") });

    const revoked = await provisioner.revoke(makeContext({ user: USERS.alice, state: again.state }));
    assert.equal(revoked.state, null);
    assert.deepEqual(await members(), [USERS.bob, USERS.carol, USERS.dave]);

    const updatesBefore = updates();
    const revokedAgain = await provisioner.revoke(makeContext({ user: USERS.alice, state: null }));
    assert.equal(revokedAgain.state, null);
    assert.equal(updates(), updatesBefore, "revoking someone who is not a member changes nothing");
    assert.deepEqual(await members(), [USERS.bob, USERS.carol, USERS.dave]);
  });

  test("a person who was a member before the grant is never removed", async () => {
    const granted = await provisioner.grant(makeContext({ user: USERS.bob }));
    assert.deepEqual(granted.state, { preexisting: true, usergroup: GROUP });
    const regranted = await provisioner.grant(makeContext({ user: USERS.bob, state: granted.state }));
    assert.deepEqual(regranted.state, granted.state);

    const revoked = await provisioner.revoke(makeContext({ user: USERS.bob, state: regranted.state }));
    assert.equal(revoked.state, null);
    assert.match(String(revoked.detail?.action), /kept/);
    assert.equal(updates(), 0);
    assert.deepEqual(await members(), [USERS.bob, USERS.carol]);
  });

  test("concurrent grants for different people on the same group both land", async () => {
    await Promise.all([
      provisioner.grant(makeContext({ user: USERS.alice })),
      provisioner.grant(makeContext({ user: USERS.dave })),
      provisioner.grant(makeContext({ user: USERS.erin })),
    ]);
    assert.deepEqual((await members()).sort(), [USERS.alice, USERS.bob, USERS.carol, USERS.dave, USERS.erin].sort());
    await Promise.all([
      provisioner.revoke(makeContext({ user: USERS.alice, state: { preexisting: false } })),
      provisioner.revoke(makeContext({ user: USERS.erin, state: { preexisting: false } })),
    ]);
    assert.deepEqual((await members()).sort(), [USERS.bob, USERS.carol, USERS.dave].sort());
  });

  test("the grantee is never left as a member the bot could not remove", async () => {
    const lonely = slackUsergroupProvisionerType.create({ usergroup: EMPTY_GROUP }, { env: {}, slack: client, log: pino({ level: "silent" }) }, "lonely");
    await assert.rejects(lonely.grant(makeContext({ user: USERS.alice })), /user group S0EMPTY01 has no members.*add a permanent member/);
    assert.deepEqual(await members(EMPTY_GROUP), []);

    sim.setUsergroup(GROUP, [USERS.alice]);
    await assert.rejects(provisioner.revoke(makeContext({ user: USERS.alice })), /last member and Slack refuses to empty a user group/);
    assert.deepEqual(await members(), [USERS.alice]);
  });

  test("Slack's errors come back with what to fix", async () => {
    const missing = slackUsergroupProvisionerType.create({ usergroup: "S0MISSING1" }, { env: {}, slack: client, log: pino({ level: "silent" }) }, "gone");
    await assert.rejects(missing.grant(makeContext({ user: USERS.alice })), {
      message: "could not read the members of user group S0MISSING1 (resource gone): no_such_subteam — check `usergroup` in the policy",
    });
    sim.failNext("usergroups.users.update", "permission_denied");
    await assert.rejects(provisioner.grant(makeContext({ user: USERS.alice })), /could not update the members of user group S0DBADMINS \(resource dba-group\): permission_denied/);
    assert.deepEqual(await members(), [USERS.bob, USERS.carol]);
  });

  test("an aborted call does not write", async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(provisioner.grant(makeContext({ user: USERS.alice, signal: controller.signal })), /timeout ran out/);
    assert.equal(updates(), 0);
  });

  test("revoke takes the person out of the group recorded at grant, even after the policy changed", async () => {
    const granted = await provisioner.grant(makeContext({ user: USERS.alice }));
    const edited = slackUsergroupProvisionerType.create({ usergroup: "S0OTHER01" }, { env: {}, slack: client, log: pino({ level: "silent" }) }, "dba-group");
    await edited.revoke(makeContext({ user: USERS.alice, state: granted.state }));
    assert.deepEqual(await members(), [USERS.bob, USERS.carol]);
  });

  test("the simulator's usergroups.users.update answers as Slack does", async () => {
    const updated = await client.usergroups.users.update({ usergroup: GROUP, users: `${USERS.bob}, ${USERS.alice}` });
    assert.equal(updated.usergroup?.id, GROUP);
    assert.deepEqual(updated.usergroup?.users, [USERS.bob, USERS.alice]);
    await assert.rejects(client.usergroups.users.update({ usergroup: GROUP, users: "" }), /no_users_provided/);
    await assert.rejects(client.usergroups.users.update({ usergroup: GROUP, users: "U0NOTAUSER" }), /invalid_users/);
    await assert.rejects(client.usergroups.users.update({ usergroup: GROUP, users: sim.botUserId }), /invalid_users/);
    await assert.rejects(client.usergroups.users.update({ usergroup: "S0MISSING1", users: USERS.bob }), /no_such_subteam/);
    assert.deepEqual(await members(), [USERS.bob, USERS.alice]);
  });

  test("the usergroup key must be a Slack user group id", () => {
    const schema = z.object(slackUsergroupProvisionerType.optionsShape).strict();
    assert.equal(schema.safeParse({ usergroup: GROUP }).success, true);
    assert.match(schema.safeParse({ usergroup: "@dba-team" }).error?.issues[0]?.message ?? "", /'@dba-team' is not a Slack user group id/);
  });
});

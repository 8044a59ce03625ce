import { commandProvisionerType } from "./command-provisioner.js";
import { postgresRoleProvisionerType } from "./postgres-role-provisioner.js";
import type { ProvisionerType } from "./provisioner-type.js";
import { slackUsergroupProvisionerType } from "./slack-usergroup-provisioner.js";
import { webhookProvisionerType } from "./webhook-provisioner.js";

/** Every `type:` a policy's `provisioner:` may name. */
export const BUILTIN_PROVISIONER_TYPES: ProvisionerType[] = [
  postgresRoleProvisionerType,
  slackUsergroupProvisionerType,
  webhookProvisionerType,
  commandProvisionerType,
];

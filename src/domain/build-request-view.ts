import type { RequestSnapshot, RequesterHistory } from "./access-records.js";
import type { RuleProgress } from "./evaluate-approval.js";
import type { AccessDeps } from "./ports.js";
import { resolveRuleGroups } from "./resolve-approvers.js";
import { evaluateVotes } from "./vote-on-request.js";

/** Everything a request message shows: the request, rule progress and the requester's history. */
export interface RequestView {
  snapshot: RequestSnapshot;
  resourceTitle: string;
  /** Progress per rule, or null when the approver groups could not be resolved just now. */
  rules: RuleProgress[] | null;
  history: RequesterHistory;
  /** The time the view was built, so a pure renderer can say "overdue". */
  renderedAt: Date;
}

export async function buildRequestView(deps: Pick<AccessDeps, "policy" | "directory" | "store" | "clock">, snapshot: RequestSnapshot): Promise<RequestView> {
  const { policy } = deps.policy.current();
  const resource = policy.resources[snapshot.request.resource];
  const history = await deps.store.requesterHistory(snapshot.request.requesterId, snapshot.request.resource, snapshot.request.createdAt, snapshot.request.id);
  let rules: RuleProgress[] | null = null;
  if (resource) {
    try {
      const membership = await resolveRuleGroups(policy, resource, deps.directory);
      rules = evaluateVotes(resource, membership, snapshot.request, snapshot.votes).rules;
    } catch {
      rules = null;
    }
  }
  return { snapshot, resourceTitle: resource?.title ?? snapshot.request.resource, rules, history, renderedAt: deps.clock.now() };
}

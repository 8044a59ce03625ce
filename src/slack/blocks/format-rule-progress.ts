import type { RuleProgress } from "../../domain/evaluate-approval.js";
import { escapeMrkdwn } from "../escape-mrkdwn.js";

/** One mrkdwn line per rule, like "⌛ *security*: 0 of 1 (<@U…>)": the request message and the Home tab show the same. */
export function formatRuleProgress(rules: RuleProgress[]): string[] {
  return rules.map((rule) => {
    const done = rule.filled >= rule.required;
    const who = rule.assigned.length > 0 ? ` (${rule.assigned.map((id) => `<@${id}>`).join(", ")})` : "";
    return `${done ? ":white_check_mark:" : ":hourglass:"} *${escapeMrkdwn(rule.group)}*: ${rule.filled} of ${rule.required}${who}`;
  });
}

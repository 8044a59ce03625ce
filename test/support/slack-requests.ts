/**
 * Sends requests to the bot exactly as Slack does. The signing and the payload builders live
 * in src/slack-simulator/ (the sandbox uses them too); the view-state shorthands below are the
 * tests' own.
 */
export * from "../../src/slack-simulator/sign-slack-request.js";
export * from "../../src/slack-simulator/slack-requests.js";

// ---------------------------------------------------------------------------
// view.state.values helpers
// ---------------------------------------------------------------------------

export type StateValue = Record<string, unknown> & { type: string };

export function plainTextValue(value: string | null): StateValue {
  return { type: "plain_text_input", value };
}

export function staticSelectValue(value: string, text: string = value): StateValue {
  return { type: "static_select", selected_option: { text: { type: "plain_text", text, emoji: true }, value } };
}

export function usersSelectValue(userId: string): StateValue {
  return { type: "users_select", selected_user: userId };
}

/**
 * Builds `view.state.values` (block_id → action_id → value). Plain strings
 * become plain_text_input values, the most common case.
 */
export function stateValues(
  values: Record<string, Record<string, string | StateValue>>,
): { values: Record<string, Record<string, StateValue>> } {
  const out: Record<string, Record<string, StateValue>> = {};
  for (const [blockId, actions] of Object.entries(values)) {
    out[blockId] = Object.fromEntries(
      Object.entries(actions).map(([actionId, v]) => [actionId, typeof v === "string" ? plainTextValue(v) : v]),
    );
  }
  return { values: out };
}


/**
 * Removes control characters (except newline and tab) from text bound for a terminal.
 * Why: ledger bodies carry text that Slack users typed and blocks that came from Slack; an
 * ESC sequence in there could rewrite what the auditor's terminal shows.
 */
export function sanitizeTerminalText(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, "\ufffd");
}

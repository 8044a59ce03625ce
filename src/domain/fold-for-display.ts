/** Bidirectional overrides and isolates, and marks, that can reorder what a reader sees. */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** Invisible characters that can hide text or split words so they evade a reader's eye. */
const INVISIBLE = /[\u200b-\u200d\u2060-\u2064\ufeff\u00ad]/g;
const LINE_BREAKS = /\r\n|[\r\n\u0085\u2028\u2029\v\f]/g;

/**
 * User text as it is shown to people (Slack, terminals): on one line, with bidi controls and
 * invisible characters removed, so a reason can neither forge extra lines in the audit
 * channel nor read differently from what was typed. The ledger keeps the exact text.
 */
export function foldForDisplay(text: string): string {
  return text.replace(LINE_BREAKS, " ⏎ ").replace(BIDI_CONTROLS, "").replace(INVISIBLE, "").replace(/\t/g, " ");
}

/**
 * What a person typed, quoted inside a domain message that the edge shows as mrkdwn: folded,
 * with `&`, `<`, `>` as entities (no mention or link can form) and formatting characters dropped.
 */
export function quoteTyped(text: string): string {
  return foldForDisplay(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/[*_~`]/g, "");
}

import { foldForDisplay } from "../domain/fold-for-display.js";

/**
 * Escapes user-supplied text for Slack mrkdwn. Slack parses `<…>` as mentions, channel
 * broadcasts and links, so `&`, `<` and `>` are entity-escaped: `<!channel>` then renders
 * literally and pings no one. Formatting characters are broken with a zero-width joiner
 * so that a reason can't restyle the message around it.
 */
export function escapeMrkdwn(text: string): string {
  return foldForDisplay(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/([*_~`])/g, "$1\u200d");
}

/** Cuts text to Slack's field limits without splitting a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * User text for a `plain_text` field. Slack decodes `&amp;`, `&lt;` and `&gt;` there too, so
 * the one rule holds everywhere: user text is always escaped (and folded for display).
 */
export function escapePlainText(text: string): string {
  return foldForDisplay(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

import { sanitizeTerminalText } from "./sanitize-terminal-text.js";

type Json = Record<string, unknown>;

/**
 * Renders Slack Block Kit blocks (what an approver saw when they clicked) as plain text
 * lines: header, section text and fields, context, actions, divider, image, rich text, and a
 * one-line placeholder for any other block type. mrkdwn is made readable (mentions, links,
 * dates, entities); the text is otherwise shown as it was, so the auditor sees the words the
 * approver saw.
 */
export function renderSeenBlocks(blocks: unknown): string[] {
  if (!Array.isArray(blocks)) return ["(not a list of blocks)"];
  const lines: string[] = [];
  for (const item of blocks) {
    const block = record(item);
    switch (block.type) {
      case "header":
        lines.push(`# ${textOf(block.text)}`);
        break;
      case "section": {
        const main = textOf(block.text);
        if (main) lines.push(...main.split("\n"));
        const fields = Array.isArray(block.fields) ? block.fields : [];
        for (const field of fields) {
          const [first = "", ...rest] = textOf(field).split("\n");
          lines.push(`• ${first}`, ...rest.map((line) => `  ${line}`));
        }
        const accessory = record(block.accessory);
        if (accessory.type) lines.push(`  ${describeElement(accessory)}`);
        break;
      }
      case "context": {
        const elements = Array.isArray(block.elements) ? block.elements : [];
        const parts = elements.map((element) => (record(element).type === "image" ? `[image: ${String(record(element).alt_text ?? "")}]` : textOf(element)));
        lines.push(...parts.join(" · ").split("\n").map((line) => `(${line})`));
        break;
      }
      case "actions": {
        const elements = Array.isArray(block.elements) ? block.elements : [];
        lines.push(elements.map((element) => describeElement(record(element))).join(" "));
        break;
      }
      case "divider":
        lines.push("────────");
        break;
      case "image":
        lines.push(`[image: ${String(block.alt_text ?? "")}]`);
        break;
      case "rich_text":
        lines.push(...richText(block).split("\n"));
        break;
      default:
        lines.push(`[${String(block.type ?? "unknown")} block]`);
    }
  }
  return lines.map(sanitizeTerminalText);
}

function describeElement(element: Json): string {
  const label = textOf(element.text) || String(element.action_id ?? element.type ?? "?");
  if (element.type === "button") return `[${label}${typeof element.style === "string" ? ` (${element.style})` : ""}]`;
  return `[${String(element.type)}: ${label}]`;
}

function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  const object = record(value);
  if (typeof object.text !== "string") return "";
  return object.type === "mrkdwn" ? readableMrkdwn(object.text) : object.text;
}

/** `<@U1>` → @U1, `<#C1|name>` → #name, `<url|label>` → label (url), dates → their fallback text. */
function readableMrkdwn(text: string): string {
  return text
    .replace(/<!date\^[^|>]*\|([^>]*)>/g, "$1")
    .replace(/<!(here|channel|everyone)>/g, "@$1")
    .replace(/<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>/g, (_m, id: string, name?: string) => name ?? `@${id}`)
    .replace(/<@([A-Z0-9]+)(?:\|[^>]*)?>/g, "@$1")
    .replace(/<#([A-Z0-9]+)(?:\|([^>]*))?>/g, (_m, id: string, name?: string) => `#${name ?? id}`)
    .replace(/<([^|>]+)\|([^>]+)>/g, "$2 ($1)")
    .replace(/<([^>]+)>/g, "$1")
    .replace(/\u200d/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

function richText(value: unknown): string {
  const object = record(value);
  if (typeof object.text === "string") return object.text;
  if (object.type === "user") return `@${String(object.user_id ?? "")}`;
  if (object.type === "link") return String(object.text ?? object.url ?? "");
  return Array.isArray(object.elements) ? object.elements.map(richText).join(object.type === "rich_text_list" ? "\n" : "") : "";
}

function record(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

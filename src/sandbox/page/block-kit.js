// Block Kit as Slack's clients lay it out: header, section (text, fields, accessory), context,
// divider, actions, image, and the input blocks of modals. Why not a library: the maintained
// Block Kit renderers on npm are React components (slack-blocks-to-jsx) that need React and a
// bundler, which this page does without; nothing else renders Block Kit. Every text goes in
// through textContent (mrkdwn.js), never innerHTML.
import { decodeEntities, emojify, renderMrkdwn } from "./mrkdwn.js";

/**
 * @typedef {{ users: Record<string, {realName: string}>, channels: Record<string, string>, usergroups?: Record<string,string>, timezone: string,
 *   onButton?: (button: {actionId: string, value?: string, blockId: string}) => void }} RenderContext
 */

/** @returns {HTMLElement} the blocks, or the message's text when it has none */
export function renderBlocks(blocks, context, fallbackText = "") {
  const root = el("div", "bk-blocks");
  if (!Array.isArray(blocks) || blocks.length === 0) {
    root.append(textObject({ type: "mrkdwn", text: fallbackText }, context, "bk-text"));
    return root;
  }
  for (const block of blocks) root.append(renderBlock(block, context));
  return root;
}

function renderBlock(block, context) {
  switch (block.type) {
    case "header": {
      const node = el("div", "bk-header");
      node.append(textObject(block.text, context));
      return node;
    }
    case "section":
      return section(block, context);
    case "context": {
      const node = el("div", "bk-context");
      for (const item of block.elements ?? []) {
        if (item.type === "image") node.append(image(item, "bk-context-image"));
        else node.append(textObject(item, context, "bk-context-item"));
      }
      return node;
    }
    case "divider":
      return el("hr", "bk-divider");
    case "actions": {
      const node = el("div", "bk-actions");
      for (const item of block.elements ?? []) node.append(interactive(item, block.block_id, context));
      return node;
    }
    case "image": {
      const node = el("figure", "bk-image");
      if (block.title) node.append(textObject(block.title, context, "bk-image-title"));
      node.append(image(block, "bk-image-body"));
      return node;
    }
    case "input":
      return input(block, context);
    default: {
      const node = el("div", "bk-unsupported");
      node.textContent = `[${String(block.type)} block]`;
      return node;
    }
  }
}

function section(block, context) {
  const node = el("div", "bk-section");
  const body = el("div", "bk-section-body");
  if (block.text) body.append(textObject(block.text, context, "bk-text"));
  if (Array.isArray(block.fields) && block.fields.length > 0) {
    const fields = el("div", "bk-fields");
    for (const field of block.fields) fields.append(textObject(field, context, "bk-field"));
    body.append(fields);
  }
  node.append(body);
  if (block.accessory) {
    const accessory = el("div", "bk-accessory");
    accessory.append(block.accessory.type === "image" ? image(block.accessory, "bk-accessory-image") : interactive(block.accessory, block.block_id, context));
    node.append(accessory);
  }
  return node;
}

/** A button (or a select, shown but only the bot's buttons act). */
function interactive(item, blockId, context) {
  if (item.type === "button") {
    const button = el("button", `bk-button${item.style === "primary" ? " bk-primary" : item.style === "danger" ? " bk-danger" : ""}`);
    button.type = "button";
    button.textContent = plain(item.text);
    button.dataset.actionId = item.action_id ?? "";
    if (item.value !== undefined) button.dataset.value = item.value;
    if (item.url) {
      button.addEventListener("click", () => {
        if (/^https?:/i.test(item.url)) window.open(item.url, "_blank", "noopener,noreferrer");
      });
    } else if (context.onButton) {
      button.addEventListener("click", () => {
        if (item.confirm && !window.confirm(`${plain(item.confirm.title)}\n\n${plain(item.confirm.text)}`)) return;
        context.onButton({ actionId: item.action_id, value: item.value, blockId });
      });
    } else button.disabled = true;
    return button;
  }
  const other = el("span", "bk-unsupported");
  other.textContent = `[${String(item.type)}]`;
  return other;
}

function image(item, className) {
  // The page loads nothing from outside (its CSP says so), as the sandbox promises; images show as their alt text.
  const node = el("div", `${className} bk-image-placeholder`);
  node.textContent = `🖼 ${item.alt_text ?? "image"}`;
  return node;
}

function input(block, context) {
  const node = el("label", "bk-input");
  const label = el("div", "bk-input-label");
  label.textContent = plain(block.label);
  if (block.optional) {
    const optional = el("span", "bk-optional");
    optional.textContent = " (optional)";
    label.append(optional);
  }
  node.append(label);
  const element = block.element ?? {};
  let control;
  if (element.type === "plain_text_input") {
    control = document.createElement(element.multiline ? "textarea" : "input");
    if (!element.multiline) control.type = "text";
    if (element.placeholder) control.placeholder = plain(element.placeholder);
    if (element.initial_value) control.value = element.initial_value;
    if (element.max_length) control.maxLength = element.max_length;
  } else if (element.type === "static_select") {
    control = document.createElement("select");
    const none = document.createElement("option");
    none.value = "";
    none.textContent = element.placeholder ? plain(element.placeholder) : "Select an option";
    control.append(none);
    const groups = element.option_groups ?? [{ options: element.options ?? [] }];
    for (const group of groups) {
      const parent = group.label ? document.createElement("optgroup") : control;
      if (group.label) {
        parent.label = plain(group.label);
        control.append(parent);
      }
      for (const option of group.options ?? []) {
        const opt = document.createElement("option");
        opt.value = option.value;
        opt.textContent = plain(option.text);
        parent.append(opt);
      }
    }
    if (element.initial_option) control.value = element.initial_option.value;
  } else {
    control = el("div", "bk-unsupported");
    control.textContent = `[${String(element.type)} input]`;
  }
  control.classList.add("bk-control");
  control.dataset.blockId = block.block_id ?? "";
  control.dataset.actionId = element.action_id ?? "";
  node.append(control);
  if (block.hint) node.append(textObject(block.hint, context, "bk-hint"));
  const error = el("div", "bk-input-error");
  error.dataset.errorFor = block.block_id ?? "";
  node.append(error);
  return node;
}

/** A text object: mrkdwn rendered, plain_text as Slack shows it (see `plain`). */
export function textObject(text, context, className = "") {
  const node = el("div", className);
  if (!text) return node;
  if (text.type === "mrkdwn") node.append(renderMrkdwn(String(text.text ?? ""), context));
  else node.textContent = plain(text);
  return node;
}

/** A plain_text object as Slack shows it: `&amp;`, `&lt;`, `&gt;` decoded (Slack decodes them there too), `:emoji:` unless `emoji: false`. */
function plain(text) {
  if (!text) return "";
  const decoded = decodeEntities(String(text.text ?? ""));
  return text.emoji === false ? decoded : emojify(decoded);
}

function el(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

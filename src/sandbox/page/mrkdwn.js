// Slack's mrkdwn as Slack's clients show it, built as DOM nodes (text goes in through
// textContent and createTextNode only, never innerHTML, so nothing a person typed can become
// markup). The libraries on npm that render Slack markdown return HTML strings
// (slack-markdown, slack-to-html, @clearfeed-ai/slack-to-html), which would have to go
// through innerHTML, and need a bundler in the browser; this small renderer covers what Slack
// documents for mrkdwn: *bold*, _italic_, ~strike~, `code`, ```blocks```, > quotes, links,
// <@user>, <#channel>, <!subteam^…>, <!here>, :emoji: and <!date^…> in the viewer's zone.

/** The emoji the bot uses, and a few more; an unknown :name: stays as typed, as in Slack. */
const EMOJI = {
  white_check_mark: "✅", x: "❌", warning: "⚠️", rotating_light: "🚨", hourglass: "⌛", hourglass_flowing_sand: "⏳",
  lock: "🔒", unlock: "🔓", large_green_circle: "🟢", white_circle: "⚪", red_circle: "🔴", no_entry: "⛔", mag: "🔍",
  gear: "⚙️", clock3: "🕒", bell: "🔔", arrows_counterclockwise: "🔄", alarm_clock: "⏰", link: "🔗", eyes: "👀",
  heavy_multiplication_x: "✖️", grey_question: "❔", key: "🔑", tada: "🎉", wave: "👋", bust_in_silhouette: "👤",
  busts_in_silhouette: "👥", memo: "📝", page_facing_up: "📄", calendar: "📅", stopwatch: "⏱️", shield: "🛡️",
  heavy_check_mark: "✔️", information_source: "ℹ️", sparkles: "✨", rocket: "🚀", fire: "🔥", thumbsup: "👍", "+1": "👍",
  bar_chart: "📊", chart_with_upwards_trend: "📈", inbox_tray: "📥", outbox_tray: "📤", pencil: "✏️", dm: "💬",
};

/** `:name:` to the emoji, for plain_text (mrkdwn does it while parsing). */
export function emojify(text) {
  return text.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] ?? whole);
}

/** Slack's `&amp;`, `&lt;`, `&gt;` (the only entities it uses) back to characters. */
export function decodeEntities(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

/**
 * @param {string} text  mrkdwn as the bot sent it
 * @param {{ users: Record<string, {realName: string}>, channels: Record<string, string>, timezone: string, now?: Date }} context
 * @returns {DocumentFragment}
 */
export function renderMrkdwn(text, context) {
  const fragment = document.createDocumentFragment();
  // Code blocks first: nothing inside them is formatted.
  const parts = text.split(/```/);
  parts.forEach((part, index) => {
    if (index % 2 === 1 && index < parts.length - 1) {
      const pre = document.createElement("pre");
      pre.className = "mrkdwn-pre";
      pre.textContent = decodeEntities(part.replace(/^\n/, ""));
      fragment.append(pre);
    } else {
      const chunk = index % 2 === 1 ? "```" + part : part;
      renderLines(chunk, context, fragment);
    }
  });
  return fragment;
}

function renderLines(text, context, into) {
  const lines = text.split("\n");
  let quote = null;
  lines.forEach((line, index) => {
    const quoted = /^(&gt;|>) ?/.exec(line);
    if (quoted) {
      if (!quote) {
        quote = document.createElement("blockquote");
        quote.className = "mrkdwn-quote";
        into.append(quote);
      } else quote.append(document.createElement("br"));
      renderInline(line.slice(quoted[0].length), context, quote);
      return;
    }
    quote = null;
    renderInline(line, context, into);
    if (index < lines.length - 1 && !(lines[index + 1] !== undefined && /^(&gt;|>) ?/.test(lines[index + 1]))) into.append(document.createTextNode("\n"));
  });
}

// One pass over a line: <…> tokens, `code`, *bold*, _italic_, ~strike~ and :emoji:. A style
// opens after a start, space or punctuation and closes before an end, space or punctuation,
// as in Slack, so snake_case_names and 2*3*4 stay as they are.
const TOKEN = /<([^<>\n]+)>|`([^`\n]+)`|(?<![\p{L}\p{N}])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\p{L}\p{N}])|(?<![\p{L}\p{N}])_(?!\s)([^_\n]+?)(?<!\s)_(?![\p{L}\p{N}])|(?<![\p{L}\p{N}])~(?!\s)([^~\n]+?)(?<!\s)~(?![\p{L}\p{N}])|:([a-z0-9_+-]+):/gu;

function renderInline(text, context, into) {
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    if (match.index > last) into.append(document.createTextNode(decodeEntities(text.slice(last, match.index))));
    last = match.index + match[0].length;
    const [whole, angle, code, bold, italic, strike, emoji] = match;
    if (angle !== undefined) into.append(renderAngle(angle, context));
    else if (code !== undefined) into.append(element("code", "mrkdwn-code", decodeEntities(code)));
    else if (bold !== undefined) renderInline(bold, context, into.appendChild(element("b")));
    else if (italic !== undefined) renderInline(italic, context, into.appendChild(element("i")));
    else if (strike !== undefined) renderInline(strike, context, into.appendChild(element("s")));
    else if (emoji !== undefined) into.append(document.createTextNode(EMOJI[emoji] ?? whole));
  }
  if (last < text.length) into.append(document.createTextNode(decodeEntities(text.slice(last))));
}

function renderAngle(inner, context) {
  const [target, label] = splitOnce(inner, "|");
  if (target.startsWith("@")) {
    const id = target.slice(1);
    const user = context.users[id];
    return element("span", "mention", `@${user ? user.realName : label ?? id}`);
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    return element("span", "mention channel-mention", `#${context.channels[id] ?? label ?? id}`);
  }
  if (target.startsWith("!subteam^")) {
    const id = target.slice("!subteam^".length);
    return element("span", "mention", label ? decodeEntities(label) : `@${context.usergroups?.[id] ?? id}`);
  }
  if (target === "!here" || target === "!channel" || target === "!everyone") return element("span", "mention broadcast", `@${target.slice(1)}`);
  if (target.startsWith("!date^")) {
    const [, seconds, format, link] = target.split("^");
    const text = formatSlackDate(Number(seconds), format ?? "{date}", context.timezone, context.now ?? new Date());
    if (!text) return document.createTextNode(decodeEntities(label ?? ""));
    return link ? makeLink(link, text) : element("span", "slack-date", text);
  }
  if (target.startsWith("!")) return document.createTextNode(decodeEntities(label ?? target));
  return makeLink(decodeEntities(target), decodeEntities(label ?? target));
}

function makeLink(href, text) {
  // Only web and mail links become links; anything else (javascript:, data:) stays text.
  if (!/^(https?:|mailto:)/i.test(href)) return document.createTextNode(text);
  const a = element("a", "mrkdwn-link", text);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

function splitOnce(text, separator) {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---- <!date^…>, as Slack formats it ------------------------------------------------------

function parts(date, timeZone, options) {
  const out = {};
  for (const part of new Intl.DateTimeFormat("en-US", { timeZone, ...options }).formatToParts(date)) out[part.type] = part.value;
  return out;
}

function ordinal(day) {
  const n = Number(day);
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? "th" : ["th", "st", "nd", "rd"][n % 10] ?? "th";
  return `${n}${suffix}`;
}

function dayKey(date, timeZone) {
  const p = parts(date, timeZone, { year: "numeric", month: "2-digit", day: "2-digit" });
  return `${p.year}-${p.month}-${p.day}`;
}

function relativeDay(date, timeZone, now) {
  const key = dayKey(date, timeZone);
  if (key === dayKey(now, timeZone)) return "today";
  if (key === dayKey(new Date(now.getTime() - 86_400_000), timeZone)) return "yesterday";
  if (key === dayKey(new Date(now.getTime() + 86_400_000), timeZone)) return "tomorrow";
  return null;
}

function ago(date, now) {
  const seconds = Math.round((date.getTime() - now.getTime()) / 1000);
  const abs = Math.abs(seconds);
  const [value, unit] = abs < 60 ? [abs, "second"] : abs < 3600 ? [Math.round(abs / 60), "minute"] : abs < 86_400 ? [Math.round(abs / 3600), "hour"] : [Math.round(abs / 86_400), "day"];
  if (abs < 45) return seconds <= 0 ? "just now" : "in a few seconds";
  const phrase = `${value} ${unit}${value === 1 ? "" : "s"}`;
  return seconds < 0 ? `${phrase} ago` : `in ${phrase}`;
}

/**
 * Slack's date tokens ({date_num}, {date}, {date_short}, {date_long}, their _pretty forms,
 * {time}, {time_secs}, {ago}) in the viewer's time zone; null for a timestamp that is not one.
 */
export function formatSlackDate(seconds, format, timeZone, now) {
  if (!Number.isFinite(seconds)) return null;
  const date = new Date(seconds * 1000);
  const p = parts(date, timeZone, { year: "numeric", month: "long", day: "numeric", weekday: "long" });
  const short = parts(date, timeZone, { month: "short" });
  const num = parts(date, timeZone, { year: "numeric", month: "2-digit", day: "2-digit" });
  const time = new Intl.DateTimeFormat("en-US", { timeZone, hour: "numeric", minute: "2-digit" }).format(date);
  const timeSecs = new Intl.DateTimeFormat("en-US", { timeZone, hour: "numeric", minute: "2-digit", second: "2-digit" }).format(date);
  const relative = relativeDay(date, timeZone, now);
  const tokens = {
    date_num: `${num.year}-${num.month}-${num.day}`,
    date: `${p.month} ${ordinal(p.day)}, ${p.year}`,
    date_short: `${short.month} ${p.day}, ${p.year}`,
    date_long: `${p.weekday}, ${p.month} ${ordinal(p.day)}, ${p.year}`,
    time,
    time_secs: timeSecs,
    ago: ago(date, now),
  };
  tokens.date_pretty = relative ?? tokens.date;
  tokens.date_short_pretty = relative ?? tokens.date_short;
  tokens.date_long_pretty = relative ?? tokens.date_long;
  return format.replace(/\{(\w+)\}/g, (whole, name) => tokens[name] ?? whole);
}

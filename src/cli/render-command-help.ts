import type { CommandSpec } from "./command-spec.js";

const HELP_OPTION = "-h, --help";

/** The help of a command, in one layout for every command: usage, options, exit codes. */
export function renderCommandHelp(spec: CommandSpec): string {
  const lines: string[] = spec.usage.map((line, index) => `${index === 0 ? "Usage:" : "      "} accessbot ${line}`);
  lines.push("", ...wrap(spec.description, 0));
  if (spec.subcommands?.length) {
    lines.push("", "Commands:");
    const width = Math.max(...spec.subcommands.map((command) => command.name.length));
    for (const command of spec.subcommands) lines.push(`  ${command.name.padEnd(width)}  ${command.description}`);
    lines.push("", `Run \`accessbot ${spec.name ? `${spec.name} ` : ""}<command> --help\` for a command's options.`);
  }
  if (spec.positionals?.length) {
    lines.push("", "Arguments:");
    const width = Math.max(...spec.positionals.map((positional) => positional.name.length));
    for (const positional of spec.positionals) lines.push(`  ${positional.name.padEnd(width)}  ${positional.description}`);
  }
  const options = Object.entries(spec.options).map(([name, option]) => ({
    flag: `${option.short ? `-${option.short}, ` : "    "}--${name}${option.type === "string" ? ` ${option.value ?? "VALUE"}` : ""}`,
    description: `${option.description}${option.multiple ? " (may be repeated)" : ""}`,
  }));
  options.push({ flag: HELP_OPTION, description: "print this help and exit" });
  const width = Math.max(...options.map((option) => option.flag.length));
  lines.push("", "Options:");
  for (const option of options) {
    const [first, ...rest] = wrap(option.description, width + 4);
    lines.push(`  ${option.flag.padEnd(width)}  ${first!.trimStart()}`, ...rest);
  }
  if (spec.notes) lines.push("", ...spec.notes.split("\n"));
  lines.push("", "Exit codes:");
  for (const [code, meaning] of spec.exitCodes) lines.push(`  ${code}  ${meaning}`);
  return lines.join("\n");
}

/** Wraps at 96 columns, indenting continuation lines; explicit newlines are kept. */
function wrap(text: string, indent: number): string[] {
  const out: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(" ")) {
      if (line && indent + line.length + 1 + word.length > 96) {
        out.push(" ".repeat(indent) + line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push(" ".repeat(indent) + line);
  }
  return out;
}

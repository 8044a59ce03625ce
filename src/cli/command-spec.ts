/** One option of a command, as parseArgs takes it plus what its help says. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** The value's placeholder in the help, e.g. FILE. */
  value?: string;
  description: string;
}

/**
 * Everything the parser and the help renderer need to know about one command, so that its
 * usage text cannot drift from what it accepts: the options listed are the options parsed.
 */
export interface CommandSpec {
  /** "audit verify": what follows `accessbot`. */
  name: string;
  /** The synopsis lines after "Usage: accessbot ". */
  usage: string[];
  description: string;
  options: Record<string, OptionSpec>;
  /** Positional arguments, for the help only; `maxPositionals` enforces their number. */
  positionals?: Array<{ name: string; description: string }>;
  maxPositionals?: number;
  subcommands?: Array<{ name: string; description: string }>;
  exitCodes: Array<[number, string]>;
  /** Extra paragraphs after the options (formats, notes). */
  notes?: string;
}

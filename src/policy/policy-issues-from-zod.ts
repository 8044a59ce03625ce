/**
 * Turns zod issues into messages written for the person editing the YAML file: YAML words
 * ("mapping", "list"), the value they actually wrote, and a "did you mean" for misspelt keys.
 * zod's defaults ("Invalid input: expected object, received null") are written for
 * programmers and would not say which key was misspelt.
 */
import type { z } from "zod";
import { suggestClosest } from "../domain/suggest-closest.js";
import type { PathIssue } from "./policy-error.js";
import { allowedKeysAt } from "./policy-schema.js";

type ZodIssue = z.core.$ZodIssue;
type Path = Array<string | number>;

/** `schema` is the one that produced the issues; it names the keys a misspelt key could mean. */
export function policyIssuesFromZod(issues: readonly ZodIssue[], input: unknown, schema: z.core.$ZodType): PathIssue[] {
  return issues.flatMap((issue) => convertIssue(issue, input, schema));
}

function convertIssue(issue: ZodIssue, input: unknown, schema: z.core.$ZodType): PathIssue[] {
  const path = issue.path.map((segment) => (typeof segment === "number" ? segment : String(segment)));
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => ({ path: [...path, key], at: "key", message: unknownKeyMessage(key, allowedKeysAt(schema, path, input)) }));
    case "invalid_key":
      // Record keys (group names, resource ids): the nested issue carries our message.
      return [{ path, at: "key", message: issue.issues.map((nested) => nested.message).join("; ") }];
    case "invalid_union": {
      // `off` or a mapping (alert rules): a mapping was written, so its own issues (a bad
      // `within`) say more, and at the right line, than "expected off or a mapping".
      const branch = isRecord(valueAt(input, path).value) ? issue.errors.find((issues) => issues.length > 0 && issues.every((nested) => nested.path.length > 0 || nested.code === "unrecognized_keys")) : undefined;
      if (branch !== undefined) return branch.flatMap((nested) => convertIssue({ ...nested, path: [...issue.path, ...nested.path] } as ZodIssue, input, schema));
      return [{ path, message: typeMessage(issue, path, input) }];
    }
    case "invalid_type":
    case "invalid_value":
      return [{ path, message: typeMessage(issue, path, input) }];
    default:
      return [{ path, message: issue.message }];
  }
}

function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  if (allowed.length === 0) return `unknown key '${key}'`;
  const suggestion = suggestClosest(key, allowed, 1)[0];
  const hint = suggestion === undefined ? "" : `did you mean '${suggestion}'? `;
  return `unknown key '${key}' (${hint}allowed keys: ${allowed.join(", ")})`;
}

function typeMessage(issue: ZodIssue, path: Path, input: unknown): string {
  const { found, value } = valueAt(input, path);
  const last = path[path.length - 1];
  if (!found && typeof last === "string") {
    const hint = isDefaultMessage(issue.message) ? "" : ` (${issue.message})`;
    return `missing required key '${last}'${hint}`;
  }
  if (!isDefaultMessage(issue.message)) {
    // A discriminator that matches no option (`type: postgress`): the message names the value.
    const complete = issue.code === "invalid_value" || (issue.code === "invalid_union" && issue.discriminator !== undefined);
    return complete ? issue.message : `${issue.message}, got ${describe(value)}`;
  }
  const expected = issue.code === "invalid_type" ? friendlyType(issue.expected) : "a different value";
  return `expected ${expected}, got ${describe(value)}`;
}

/** zod's built-in messages start like this; ours never do. */
function isDefaultMessage(message: string): boolean {
  return message.startsWith("Invalid input");
}

function friendlyType(expected: string): string {
  const names: Record<string, string> = {
    object: "a mapping",
    record: "a mapping",
    array: "a list",
    string: "text",
    number: "a number",
    int: "a whole number",
    boolean: "true or false",
  };
  return names[expected] ?? expected;
}

function describe(value: unknown): string {
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  switch (typeof value) {
    case "string":
      return value.length > 40 ? `'${value.slice(0, 40)}…'` : `'${value}'`;
    case "number":
    case "boolean":
    case "bigint":
      return String(value);
    case "object":
      return "a mapping";
    default:
      return typeof value;
  }
}

function valueAt(root: unknown, path: Path): { found: boolean; value: unknown } {
  let current: unknown = root;
  for (const segment of path) {
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, segment)) {
      return { found: false, value: undefined };
    }
    current = (current as Record<string | number, unknown>)[segment];
  }
  return { found: true, value: current };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

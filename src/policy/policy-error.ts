/** One problem in a policy file, located so an editor or CI log can jump straight to it. */
export interface PolicyIssue {
  /** 1-based; null when the problem is not inside the file (e.g. the file is missing). */
  line: number | null;
  column: number | null;
  /** Field path like `resources.prod-db.approval.rules[0].group`; "" for the whole file. */
  path: string;
  message: string;
}

/** An issue before it has been located in the YAML source; the path is in file keys. */
export interface PathIssue {
  path: ReadonlyArray<string | number>;
  message: string;
  /** Point at the mapping key rather than its value (unknown keys, bad names). */
  at?: "key" | "value";
}

/**
 * Thrown for any policy that cannot be loaded. The message has one line per issue, in the
 * `file:line:column path: message` shape editors and CI annotations understand.
 */
export class PolicyError extends Error {
  readonly code = "INVALID_POLICY" as const;
  readonly issues: PolicyIssue[];
  readonly fileName: string;

  constructor(fileName: string, issues: PolicyIssue[]) {
    super(issues.map((issue) => formatPolicyIssue(fileName, issue)).join("\n"));
    this.name = "PolicyError";
    this.fileName = fileName;
    this.issues = issues;
  }
}

export function formatPolicyIssue(fileName: string, issue: PolicyIssue): string {
  const location =
    issue.line === null ? fileName : `${fileName}:${issue.line}${issue.column === null ? "" : `:${issue.column}`}`;
  return issue.path === "" ? `${location}: ${issue.message}` : `${location} ${issue.path}: ${issue.message}`;
}

/** `["resources", "prod-db", "approval", "rules", 0, "group"]` → `resources.prod-db.approval.rules[0].group`.
 *  Keys that would make the path ambiguous (dots, spaces) are quoted: `resources["a.b"]`. */
export function formatIssuePath(path: ReadonlyArray<string | number>): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(segment)) text += text === "" ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

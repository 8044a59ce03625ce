/**
 * Canonical JSON as defined in docs/ledger-format.md: object keys sorted by UTF-16 code
 * units (as RFC 8785), no insignificant whitespace, strings escaped exactly as
 * JSON.stringify does, integers only (bigints and timestamps are carried as strings by the
 * caller), `undefined` members omitted.
 *
 * Why so strict: the ledger hashes these bytes, and a verifier written in another language
 * must be able to reproduce them. Floats have no portable shortest form, so they are refused
 * rather than hashed in a way a third party could get wrong.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isSafeInteger(value)) {
        throw new TypeError(`canonical JSON accepts only safe integers, got ${value}`);
      }
      return Object.is(value, -0) ? "0" : String(value);
    case "bigint":
      throw new TypeError("canonical JSON carries bigints as decimal strings; convert before hashing");
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        return `[${value.map((item) => (item === undefined ? "null" : canonicalJson(item))).join(",")}]`;
      }
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort();
      return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(",")}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot encode a ${typeof value}`);
  }
}

import { randomBytes } from "node:crypto";

// Crockford's base32 without I, L, O, U: ids are read aloud and typed into `/access cancel`.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A short random id such as `AR-7K3F9Q2M`: 40 bits, enough that collisions are retried, not expected. */
export function generateId(prefix: string, length = 8): string {
  const bytes = randomBytes(length);
  let id = "";
  for (const byte of bytes) id += ALPHABET[byte & 31];
  return `${prefix}-${id}`;
}

/** Accepts what a person typed (any case, surrounding punctuation) and normalises it. */
export function normaliseId(text: string): string {
  return text.trim().replace(/^[`'"“”<(]+|[`'"“”>).,]+$/g, "").toUpperCase();
}

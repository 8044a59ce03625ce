// A byte-level JSON check for the hot path of verification, in place of JSON.parse: V8 builds
// every object and string of a ~1 KB body (~3 µs, more than the sha256), and the verifier only
// needs to know that the body is a JSON object and where a handful of its members are.
//
// It is conservative by design: `true` means JSON.parse would accept the body and give the
// members found here; anything unusual (whitespace, fractions, exponents, escaped or duplicate
// tracked keys, very deep nesting) gives `false`, and the caller then runs the exact check of
// check-ledger-entry.ts, which words the failure (or finds none). Canonical JSON never has any
// of these, so a real ledger never leaves the fast path. Bytes >= 0x80 are only allowed
// inside strings; the caller checks the body is valid UTF-8 (isUtf8) first.

/** Slots of `members`, two Int32 each (value start, value end; -1 absent, -2 duplicate). */
export const BODY_MEMBER = { seq: 0, ts: 1, type: 2, requestId: 3, subjectId: 4, resource: 5, actor: 6, actorUserId: 7 } as const;
export const BODY_MEMBER_SLOTS = 16;

const TOP_KEYS: Array<[Buffer, number]> = (
  [
    ["seq", BODY_MEMBER.seq],
    ["ts", BODY_MEMBER.ts],
    ["type", BODY_MEMBER.type],
    ["request_id", BODY_MEMBER.requestId],
    ["subject_id", BODY_MEMBER.subjectId],
    ["resource", BODY_MEMBER.resource],
    ["actor", BODY_MEMBER.actor],
  ] as const
).map(([key, slot]) => [Buffer.from(key, "latin1"), slot]);
const USER_ID = Buffer.from("user_id", "latin1");
const TRUE = Buffer.from("true");
const FALSE = Buffer.from("false");
const NULL = Buffer.from("null");
const MAX_DEPTH = 256;

const NONE = 0;
const TOP = 1;
const ACTOR = 2;

let buf: Buffer = Buffer.alloc(0);
let pos = 0;
let out: Int32Array = new Int32Array(BODY_MEMBER_SLOTS);
let sawEscape = false;
/** A tracked key was written with an escape: its decoded name is unknown here. */
let unsure = false;

/** Whether `body` is certainly a JSON object as JSON.parse reads it; fills `members` (value byte ranges). */
export function scanCanonicalBody(body: Buffer, members: Int32Array): boolean {
  buf = body;
  pos = 0;
  out = members;
  members.fill(-1);
  unsure = false;
  if (body[0] !== 0x7b) return false;
  if (!object(1, TOP)) return false;
  return pos === body.length && !unsure;
}

function value(depth: number): boolean {
  const c = buf[pos];
  if (c === 0x22) return string();
  if (c === 0x7b) return object(depth + 1, NONE);
  if (c === 0x5b) return array(depth + 1);
  if (c === 0x74) return literal(TRUE);
  if (c === 0x66) return literal(FALSE);
  if (c === 0x6e) return literal(NULL);
  if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return integer();
  return false;
}

function object(depth: number, track: number): boolean {
  if (depth > MAX_DEPTH) return false;
  pos++;
  if (buf[pos] === 0x7d) {
    pos++;
    return true;
  }
  for (;;) {
    if (buf[pos] !== 0x22) return false;
    const keyStart = pos + 1;
    if (!string()) return false;
    const keyEnd = pos - 1;
    if (track !== NONE && sawEscape) unsure = true;
    if (buf[pos] !== 0x3a) return false;
    pos++;
    const valueStart = pos;
    let slot = -1;
    if (track === TOP) {
      for (const [key, index] of TOP_KEYS) if (sameBytes(key, keyStart, keyEnd)) slot = index;
    } else if (track === ACTOR && sameBytes(USER_ID, keyStart, keyEnd)) slot = BODY_MEMBER.actorUserId;
    const ok = slot === BODY_MEMBER.actor && buf[pos] === 0x7b ? object(depth + 1, ACTOR) : value(depth);
    if (!ok) return false;
    if (slot >= 0) {
      if (out[2 * slot] !== -1) out[2 * slot] = -2;
      else {
        out[2 * slot] = valueStart;
        out[2 * slot + 1] = pos;
      }
    }
    const c = buf[pos];
    if (c === 0x2c) {
      pos++;
      continue;
    }
    if (c === 0x7d) {
      pos++;
      return true;
    }
    return false;
  }
}

function array(depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  pos++;
  if (buf[pos] === 0x5d) {
    pos++;
    return true;
  }
  for (;;) {
    if (!value(depth)) return false;
    const c = buf[pos];
    if (c === 0x2c) {
      pos++;
      continue;
    }
    if (c === 0x5d) {
      pos++;
      return true;
    }
    return false;
  }
}

/** 1 for the bytes that end a run of plain string content: controls, '"' and '\\'. */
const STRING_STOP = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STRING_STOP[c] = 1;
STRING_STOP[0x22] = 1;
STRING_STOP[0x5c] = 1;

function string(): boolean {
  const b = buf;
  const end = b.length;
  const stop = STRING_STOP;
  let p = pos + 1;
  sawEscape = false;
  for (;;) {
    // One table load per byte: string content is most of a body's bytes.
    while (p < end && stop[b[p]!] === 0) p++;
    if (p >= end) return false;
    const c = b[p]!;
    if (c === 0x22) {
      pos = p + 1;
      return true;
    }
    if (c !== 0x5c) return false;
    sawEscape = true;
    const e = b[p + 1];
    if (e === 0x75) {
      if (!isHex(b[p + 2]) || !isHex(b[p + 3]) || !isHex(b[p + 4]) || !isHex(b[p + 5])) return false;
      p += 6;
      continue;
    }
    // " \ / b f n r t
    if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
      p += 2;
      continue;
    }
    return false;
  }
}

function integer(): boolean {
  const b = buf;
  let p = pos;
  if (b[p] === 0x2d) p++;
  const first = b[p];
  if (first === 0x30) p++;
  else if (first !== undefined && first >= 0x31 && first <= 0x39) {
    p++;
    while (p < b.length && b[p]! >= 0x30 && b[p]! <= 0x39) p++;
  } else return false;
  const next = b[p];
  // Fractions and exponents are valid JSON but never canonical: left to the exact check.
  if (next === 0x2e || next === 0x65 || next === 0x45) return false;
  pos = p;
  return true;
}

function literal(word: Buffer): boolean {
  for (let k = 0; k < word.length; k++) if (buf[pos + k] !== word[k]) return false;
  pos += word.length;
  return true;
}

function sameBytes(key: Buffer, start: number, end: number): boolean {
  if (end - start !== key.length) return false;
  for (let k = 0; k < key.length; k++) if (buf[start + k] !== key[k]) return false;
  return true;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46));
}

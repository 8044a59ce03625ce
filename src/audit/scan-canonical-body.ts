// The body check of the verify hot path, in place of JSON.parse: V8 builds every object and
// string of a ~1 KB body (~3 µs, more than the sha256), and the verifier only needs to know
// that the body is a JSON object and where a handful of its members are. The check itself is
// scan_body in wasm/ledger-scan.c (through ledger-scan-wasm.ts); it is conservative by design:
// `true` means JSON.parse would accept the body and give the members found; anything unusual
// (whitespace, fractions, exponents, escaped tracked keys, very deep nesting) gives `false`,
// and the caller then runs the exact check of check-ledger-entry.ts, which words the failure
// (or finds none). Canonical JSON never has any of these, so a real ledger never leaves the
// fast path. Bytes >= 0x80 are only allowed inside strings; the caller checks the body is
// valid UTF-8 (isUtf8) first.
import { ledgerScan } from "./ledger-scan-wasm.js";

/** Slots of `members`, two Int32 each (value start, value end; -1 absent, -2 duplicate). */
export const BODY_MEMBER = { seq: 0, ts: 1, type: 2, requestId: 3, subjectId: 4, resource: 5, actor: 6, actorUserId: 7 } as const;
export const BODY_MEMBER_SLOTS = 16;

/** Whether `body` is certainly a JSON object as JSON.parse reads it; fills `members` (value byte ranges). */
export function scanCanonicalBody(body: Uint8Array, members: Int32Array): boolean {
  const scan = ledgerScan();
  scan.reserve(body.length, 0);
  scan.bytes.set(body, scan.outPtr);
  const ok = scan.exports.scan_body(scan.outPtr, body.length) === 1;
  members.set(scan.members.subarray(0, members.length));
  return ok;
}

import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalJson } from "../src/ledger/canonical-json.js";

test("canonical JSON sorts keys, drops whitespace and undefined, keeps strings exact", () => {
  assert.equal(canonicalJson({ b: 1, a: [true, null, "x"], c: undefined, "ä": { z: 0, y: "\n\"<" } }), '{"a":[true,null,"x"],"b":1,"ä":{"y":"\\n\\"<","z":0}}');
  assert.equal(canonicalJson(new Date("2026-11-22T10:00:00Z")), '"2026-11-22T10:00:00.000Z"');
  assert.equal(canonicalJson(-0), "0");
});

test("canonical JSON refuses values a third party could encode differently", () => {
  assert.throws(() => canonicalJson(1.5), /safe integers/);
  assert.throws(() => canonicalJson(2 ** 60), /safe integers/);
  assert.throws(() => canonicalJson(10n), /bigints/);
  assert.throws(() => canonicalJson(() => 1), /cannot encode/);
});

test("key order of the input does not change the output", () => {
  assert.equal(canonicalJson({ x: { b: 2, a: 1 }, y: [{ d: 4, c: 3 }] }), canonicalJson({ y: [{ c: 3, d: 4 }], x: { a: 1, b: 2 } }));
});

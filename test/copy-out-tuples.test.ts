// The COPY reader under `audit verify` (src/audit/copy-out-tuples.ts) takes over node-postgres's
// socket: on a real server it must hand out every tuple exactly once in chunks of the size
// asked for, in buffers no two chunks share, keep what PostgreSQL interleaves (notices) out of
// the tuples, carry a tuple larger than a socket read, raise the server's error wherever it
// comes, and give the connection back usable.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { CopyOutTuples, joinCopyChunk, type CopyChunk } from "../src/audit/copy-out-tuples.js";
import { testDatabases } from "./support/test-databases.js";

const url = process.env.TEST_DATABASE_URL;
const skip = testDatabases.some((target) => target.name === "postgres") ? false : "needs PostgreSQL (TEST_DATABASE_URL)";

/** Messages of each type in a chunk: 'd' (CopyData), 'N' (notice), … */
function messageTypes(chunk: CopyChunk): Map<string, number> {
  const b = joinCopyChunk(chunk);
  const types = new Map<string, number>();
  for (let p = 0; p < b.length; p = p + 1 + b.readUInt32BE(p + 1)) types.set(String.fromCharCode(b[p]!), (types.get(String.fromCharCode(b[p]!)) ?? 0) + 1);
  return types;
}

/** The tuples of a chunk: CopyData messages ('d', int32 length, tuple), each tuple's fields as text; notices and the trailer skipped. */
function tuplesOf(chunk: CopyChunk): string[][] {
  const b = joinCopyChunk(chunk);
  const tuples: string[][] = [];
  let p = 0;
  while (p < b.length) {
    const end = p + 1 + b.readUInt32BE(p + 1);
    if (b[p] !== 0x64 || b.readInt16BE(p + 5) === -1) {
      assert.ok(b[p] === 0x4e || b[p] === 0x64, `only notices and the trailer besides tuples, not 0x${b[p]!.toString(16)}`);
      p = end;
      continue;
    }
    p += 5;
    const fields: string[] = [];
    const count = b.readInt16BE(p);
    p += 2;
    for (let f = 0; f < count; f++) {
      const length = b.readInt32BE(p);
      p += 4;
      fields.push(length < 0 ? "NULL" : b.toString("utf8", p, p + length));
      p += Math.max(0, length);
    }
    assert.equal(p, end, "the tuple fills its message");
    tuples.push(fields);
  }
  return tuples;
}

async function copyAll(client: pg.Client, sql: string, chunkEntries: number): Promise<{ chunks: string[][][]; types: Map<string, number> }> {
  const copy = new CopyOutTuples(`COPY (${sql}) TO STDOUT (FORMAT binary)`, chunkEntries);
  client.query(copy as unknown as pg.Submittable);
  const chunks: string[][][] = [];
  const types = new Map<string, number>();
  const owners = new Set<ArrayBufferLike>();
  for await (const chunk of copy.chunks()) {
    // Each chunk can be handed to a worker by transfer: no buffer is in two chunks (a slice of
    // Node's shared pool would be).
    for (const buffer of new Set(chunk.map((piece) => piece.buffer))) {
      assert.ok(!owners.has(buffer), "a buffer is in one chunk only");
      owners.add(buffer);
    }
    chunks.push(tuplesOf(chunk));
    for (const [type, count] of messageTypes(chunk)) types.set(type, (types.get(type) ?? 0) + count);
  }
  return { chunks, types };
}

describe("COPY … TO STDOUT (FORMAT binary) read off the socket", { skip }, () => {
  let client: pg.Client;
  before(async () => {
    client = new pg.Client({ connectionString: url });
    await client.connect();
  });
  after(async () => {
    await client?.end();
  });

  test("every tuple once, in order, in chunks of exactly the size asked for (the last one shorter)", async () => {
    const { chunks } = await copyAll(client, "SELECT g::text, repeat('x', g % 300) FROM generate_series(1, 10007) g", 1000);
    assert.deepEqual(chunks.map((chunk) => chunk.length), [...Array(10).fill(1000), 7]);
    const all = chunks.flat();
    assert.deepEqual(all.map((fields) => fields[0]), Array.from({ length: 10007 }, (_, i) => String(i + 1)));
    assert.equal(all[299]![1], "");
    assert.equal(all[298]![1], "x".repeat(299));
    assert.equal((await client.query("SELECT 41 + 1 AS n")).rows[0].n, 42, "the connection is usable afterwards");
  });

  test("notices between rows are set aside", async () => {
    await client.query(`CREATE OR REPLACE FUNCTION pg_temp.noisy(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN IF i % 50 = 0 THEN RAISE NOTICE 'row %', i; END IF; RETURN i; END $$`);
    const notices: string[] = [];
    const onNotice = (notice: { message?: string }) => notices.push(notice.message ?? "");
    client.on("notice", onNotice);
    try {
      const { chunks, types } = await copyAll(client, "SELECT pg_temp.noisy(g)::text FROM generate_series(1, 500) g", 64);
      assert.deepEqual(chunks.flat().map((fields) => fields[0]), Array.from({ length: 500 }, (_, i) => String(i + 1)));
      assert.equal(types.get("N"), 10, "the ten notices came between the rows, and stayed out of the tuples");
    } finally {
      client.off("notice", onNotice);
    }
    assert.equal((await client.query("SELECT 1 AS n")).rows[0].n, 1);
  });

  test("a tuple larger than the buffers arrives whole", async () => {
    const { chunks } = await copyAll(client, "SELECT g::text, repeat(chr(65 + g), 3000000) FROM generate_series(1, 3) g", 2);
    const all = chunks.flat();
    assert.deepEqual(all.map((fields) => [fields[0], fields[1]!.length, fields[1]![0]]), [
      ["1", 3_000_000, "B"],
      ["2", 3_000_000, "C"],
      ["3", 3_000_000, "D"],
    ]);
  });

  test("an error in the middle of the rows is raised, after the rows before it, and the connection stays usable", async () => {
    const copy = new CopyOutTuples("COPY (SELECT (1000 / (5000 - g))::text FROM generate_series(1, 10000) g) TO STDOUT (FORMAT binary)", 100);
    client.query(copy as unknown as pg.Submittable);
    let rows = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of copy.chunks()) rows += tuplesOf(chunk).length;
      })(),
      /division by zero/,
    );
    assert.ok(rows < 5000, `only rows before the failing one were handed out (${rows})`);
    assert.equal((await client.query("SELECT 2 AS n")).rows[0].n, 2);
  });

  test("an error before any row (no such table) is raised, and the connection stays usable", async () => {
    const copy = new CopyOutTuples("COPY (SELECT * FROM no_such_table_here) TO STDOUT (FORMAT binary)", 10);
    client.query(copy as unknown as pg.Submittable);
    await assert.rejects(
      (async () => {
        for await (const _chunk of copy.chunks());
      })(),
      /no_such_table_here/,
    );
    assert.equal((await client.query("SELECT 3 AS n")).rows[0].n, 3);
  });

  test("a consumer that stops after the first chunk: the rest is dropped and the connection comes back", async () => {
    const copy = new CopyOutTuples("COPY (SELECT g::text, repeat('y', 500) FROM generate_series(1, 200000) g) TO STDOUT (FORMAT binary)", 1000);
    client.query(copy as unknown as pg.Submittable);
    for await (const chunk of copy.chunks()) {
      assert.equal(tuplesOf(chunk).length, 1000);
      break;
    }
    assert.equal((await client.query("SELECT 5 AS n")).rows[0].n, 5, "the next query is answered, not queued behind the COPY");
  });

  test("a server that sends nothing for longer than the idle timeout: the read fails with that, and does not hang", async () => {
    const own = new pg.Client({ connectionString: url });
    await own.connect();
    own.on("error", () => undefined);
    try {
      const copy = new CopyOutTuples("COPY (SELECT g::text, pg_sleep(CASE WHEN g = 3 THEN 5 ELSE 0 END)::text FROM generate_series(1, 5) g) TO STDOUT (FORMAT binary)", 10, 500);
      own.query(copy as unknown as pg.Submittable);
      const started = performance.now();
      await assert.rejects(
        (async () => {
          for await (const _chunk of copy.chunks());
        })(),
        /the database sent nothing for 1 s, so the read was given up/,
      );
      assert.ok(performance.now() - started < 4000, "given up at the idle timeout, not after the server's 5 s");
    } finally {
      await own.end().catch(() => undefined);
    }
  });

  test("an empty result gives no chunk", async () => {
    const { chunks } = await copyAll(client, "SELECT 1 WHERE false", 10);
    assert.deepEqual(chunks, []);
    assert.equal((await client.query("SELECT 4 AS n")).rows[0].n, 4);
  });
});

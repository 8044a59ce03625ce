import fs from "node:fs";
import type { VerifiableEntry } from "../ledger/ledger-record.js";
import { parseJsonlLine } from "./parse-jsonl-line.js";

/**
 * Streams a JSONL export as pages of entries, one page per chunk read, in O(chunk) memory.
 * Splits on "\n" by hand: node:readline costs several times more per line. A trailing "\r"
 * (a file that went through Windows) and blank lines are tolerated. `onBytes` reports the
 * file bytes consumed, for progress.
 */
export async function* readJsonlLedger(path: string, onBytes?: (bytes: number) => void): AsyncGenerator<VerifiableEntry[], void, undefined> {
  const stream = fs.createReadStream(path, { highWaterMark: 1 << 20 });
  // A UTF-8 decoder that keeps a character split across two chunks whole.
  stream.setEncoding("utf8");
  let carry = "";
  let lineNumber = 0;
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<string>) {
    bytes += Buffer.byteLength(chunk, "utf8");
    const text = carry + chunk;
    const lines = text.split("\n");
    carry = lines.pop()!;
    const page: VerifiableEntry[] = [];
    for (const raw of lines) {
      lineNumber += 1;
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line.trim() === "") continue;
      page.push(parseJsonlLine(line, lineNumber));
    }
    onBytes?.(bytes);
    if (page.length > 0) yield page;
  }
  if (carry.trim() !== "") {
    lineNumber += 1;
    yield [parseJsonlLine(carry.endsWith("\r") ? carry.slice(0, -1) : carry, lineNumber)];
  }
}

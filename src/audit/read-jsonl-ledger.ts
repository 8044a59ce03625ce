import { isUtf8 } from "node:buffer";
import fs from "node:fs";
import type { VerifiableEntry } from "../ledger/ledger-record.js";
import { ExportLineError, parseJsonlLine } from "./parse-jsonl-line.js";
import { SharedBufferPool } from "./shared-buffer-pool.js";

/**
 * The longest line an export may have, in bytes without the "\n". A ledger line is a few KiB
 * (bodies average under 1 KB); 16 MiB leaves room for any real entry while keeping what one
 * line can make the verifier hold small and bounded.
 */
export const MAX_JSONL_LINE_BYTES = 16 * 1024 * 1024;

const CHUNK_BYTES = 1 << 20;
/** Room in a pooled buffer for the start of a line carried from the read before (lines are a few KiB). */
const CARRY_ROOM = 64 << 10;
/** The size of the buffers reads go into, for a caller's SharedBufferPool. */
export const READ_BUFFER_BYTES = CHUNK_BYTES + CARRY_ROOM;
const NEWLINE = 0x0a;

export interface ReadJsonlLedgerOptions {
  /** Reports the file bytes consumed, for progress. */
  onBytes?: (bytes: number) => void;
  /** Defaults to MAX_JSONL_LINE_BYTES. */
  maxLineBytes?: number;
  /** Where runs are read into; a caller that releases each run once done with it saves allocations. */
  buffers?: SharedBufferPool;
}

/**
 * Streams a JSONL export as pages of entries, one page per chunk read, in O(chunk) memory.
 * Splits on "\n" by hand: node:readline costs several times more per line. A trailing "\r"
 * (a file that went through Windows) and blank lines are tolerated.
 *
 * Why strict: the hash covers the body's UTF-8 bytes, and a lossy decoder turns any invalid
 * byte into U+FFFD, so a file whose bytes were changed could still verify as intact. Every
 * line must be valid UTF-8, or reading fails at that line (an ExportLineError).
 *
 * Why a line limit: a line is only parsed once it is complete, so without one a single
 * endless line would be buffered whole. A line is refused as soon as it passes the limit,
 * before more of it is read: memory stays at about the limit plus one chunk.
 */
export async function* readJsonlLedger(path: string, options: ReadJsonlLedgerOptions = {}): AsyncGenerator<VerifiableEntry[], void, undefined> {
  for await (const run of readJsonlLineRuns(path, options)) {
    const parsed = parseJsonlLines(run.bytes, run.firstLineNumber);
    // The entries before a bad line are handed over first, so the verifier checks them and
    // reports the first problem in file order.
    if (parsed.entries.length > 0) yield parsed.entries;
    if (parsed.error) throw parsed.error;
  }
}

/**
 * Complete lines of an export (no trailing "\n"), as read: `lines` of them from
 * `firstLineNumber`. `bytes` lies in shared memory (options.buffers).
 */
export interface JsonlLineRun {
  bytes: Buffer;
  firstLineNumber: number;
  lines: number;
}

/**
 * The reading under readJsonlLedger (chunks, line limit, carried partial lines) without
 * parsing: runs of complete lines, which verify-ledger-file.ts also hands to worker threads.
 * parseJsonlLines parses a run.
 */
export async function* readJsonlLineRuns(path: string, options: ReadJsonlLedgerOptions = {}): AsyncGenerator<JsonlLineRun, void, undefined> {
  const maxLineBytes = options.maxLineBytes ?? MAX_JSONL_LINE_BYTES;
  // A line that fits in one read is shorter than the read, so only lines carried across
  // reads need their length checked.
  const readBytes = Math.max(1, Math.min(CHUNK_BYTES, maxLineBytes));
  const buffers = options.buffers ?? new SharedBufferPool(readBytes + CARRY_ROOM, 0);
  /** The start of the current, unfinished line: private copies of what earlier reads ended with. */
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let lineNumber = 0;
  let bytes = 0;
  const tooLong = (line: number) =>
    new ExportLineError(line, `longer than ${describeBytes(maxLineBytes)}, the most a line of an export may be; a ledger entry takes a few KiB, so reading stopped there`);
  const run = (complete: Buffer): JsonlLineRun => {
    let lines = 1;
    for (let at = complete.indexOf(NEWLINE); at >= 0; at = complete.indexOf(NEWLINE, at + 1)) lines += 1;
    const result = { bytes: complete, firstLineNumber: lineNumber + 1, lines };
    lineNumber += lines;
    return result;
  };
  // Read straight into shared memory, CARRY_ROOM bytes in: the start of the line carried from
  // the read before goes just in front, so each run is one buffer that a worker thread reads as
  // it is, and only a line longer than CARRY_ROOM is copied whole.
  const file = await fs.promises.open(path, "r");
  try {
    for (;;) {
      const buffer = buffers.take(CARRY_ROOM + readBytes);
      const { bytesRead } = await file.read(buffer, CARRY_ROOM, readBytes, null);
      if (bytesRead === 0) {
        buffers.release(buffer);
        break;
      }
      bytes += bytesRead;
      const piece = buffer.subarray(CARRY_ROOM, CARRY_ROOM + bytesRead);
      const lastNewline = piece.lastIndexOf(NEWLINE);
      if (lastNewline < 0 || (carryBytes > 0 && carryBytes + piece.indexOf(NEWLINE) > maxLineBytes)) {
        buffers.release(buffer);
        if (lastNewline >= 0 || carryBytes + bytesRead > maxLineBytes) throw tooLong(lineNumber + 1);
        carry.push(Buffer.from(piece));
        carryBytes += bytesRead;
        options.onBytes?.(bytes);
        continue;
      }
      let complete: Buffer;
      if (carryBytes <= CARRY_ROOM) {
        let at = CARRY_ROOM - carryBytes;
        for (const part of carry) at += part.copy(buffer, at);
        complete = buffer.subarray(CARRY_ROOM - carryBytes, CARRY_ROOM + lastNewline);
      } else {
        complete = buffers.take(carryBytes + lastNewline).subarray(0, carryBytes + lastNewline);
        let at = 0;
        for (const part of carry) at += part.copy(complete, at);
        piece.copy(complete, at, 0, lastNewline);
      }
      const rest = piece.subarray(lastNewline + 1);
      carry = rest.length > 0 ? [Buffer.from(rest)] : [];
      carryBytes = rest.length;
      if (complete.buffer !== buffer.buffer) buffers.release(buffer);
      options.onBytes?.(bytes);
      yield run(complete);
    }
  } finally {
    // Reading may stop early (a bad line, or the consumer stopped): release the file now.
    await file.close();
  }
  if (carryBytes > 0) {
    const last = buffers.take(carryBytes);
    let offset = 0;
    for (const part of carry) offset += part.copy(last, offset);
    yield run(last.subarray(0, carryBytes));
  }
}

/** The entries of a run of complete lines, up to its first bad line (as readJsonlLedger parses them). */
export function parseJsonlLines(bytes: Buffer, firstLineNumber: number): { entries: VerifiableEntry[]; error: ExportLineError | null } {
  const parsed = parseLines(bytes, firstLineNumber);
  return { entries: parsed.entries, error: parsed.error };
}

interface ParsedLines {
  entries: VerifiableEntry[];
  /** Lines consumed, including blank ones. */
  lines: number;
  /** The first bad line, after which nothing was read. */
  error: ExportLineError | null;
}

/** The entries of complete lines (separated by "\n"), up to the first bad line. */
function parseLines(bytes: Buffer, firstLineNumber: number): ParsedLines {
  const decoded = decodeLines(bytes, firstLineNumber);
  const entries: VerifiableEntry[] = [];
  let lineNumber = firstLineNumber;
  for (const raw of decoded.lines) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() !== "") {
      try {
        entries.push(parseJsonlLine(line, lineNumber));
      } catch (error) {
        if (error instanceof ExportLineError) return { entries, lines: lineNumber - firstLineNumber + 1, error };
        throw error;
      }
    }
    lineNumber += 1;
  }
  return { entries, lines: decoded.lines.length, error: decoded.error };
}

/**
 * The lines of `bytes` (separated by "\n") as text, decoded strictly: one native check and
 * one decode for the whole run of lines. Only when the check fails is it repeated per line,
 * to name the line and the byte; the lines before that one are still returned.
 */
function decodeLines(bytes: Buffer, firstLineNumber: number): { lines: string[]; error: ExportLineError | null } {
  // Valid UTF-8: "\n" bytes and "\n" characters are the same, so line numbers are kept.
  if (isUtf8(bytes)) return { lines: bytes.toString("utf8").split("\n"), error: null };
  const lines: string[] = [];
  let start = 0;
  for (let lineNumber = firstLineNumber; ; lineNumber++) {
    const end = bytes.indexOf(NEWLINE, start);
    const line = bytes.subarray(start, end < 0 ? bytes.length : end);
    const invalid = findInvalidUtf8(line);
    if (invalid) {
      const shown = [...line.subarray(invalid.offset, invalid.offset + invalid.length)].map((byte) => `0x${byte.toString(16).padStart(2, "0").toUpperCase()}`);
      const what = shown.length === 1 ? `byte ${shown[0]}` : `bytes ${shown.join(" ")}`;
      const problem = `not valid UTF-8: ${what} at byte ${invalid.offset + 1} of the line; the hash covers the exact UTF-8 text of the body, so this line cannot be what was hashed`;
      return { lines, error: new ExportLineError(lineNumber, problem) };
    }
    lines.push(line.toString("utf8"));
    // isUtf8 said no, so some line is invalid; this is only a guard.
    if (end < 0) return { lines, error: null };
    start = end + 1;
  }
}

/**
 * The first ill-formed sequence: where it starts, and how many bytes up to and including the
 * one that breaks it; null when all is well-formed. The rules of the WHATWG decoder with
 * fatal: true (no overlong forms, no surrogates, nothing above U+10FFFF). Only run on a line
 * already known to be invalid, to say where.
 */
export function findInvalidUtf8(bytes: Uint8Array): { offset: number; length: number } | null {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    let size: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) size = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      size = 3;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      size = 4;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else return { offset: i, length: 1 };
    for (let k = 1; k < size; k++) {
      const next = bytes[i + k];
      if (next === undefined) return { offset: i, length: k };
      if (next < (k === 1 ? low : 0x80) || next > (k === 1 ? high : 0xbf)) return { offset: i, length: k + 1 };
    }
    i += size;
  }
  return null;
}

function describeBytes(count: number): string {
  const mib = count / (1024 * 1024);
  const exact = `${count.toLocaleString("en-US")} bytes`;
  return Number.isInteger(mib) ? `${mib} MiB (${exact})` : exact;
}

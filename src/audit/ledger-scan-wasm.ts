// The WebAssembly build of wasm/ledger-scan.c, one instance per thread (each verify worker has
// its own), and the memory it works in. See ledger-scan.c for what its functions promise.
import { LEDGER_SCAN_WASM } from "./wasm/ledger-scan.wasm.js";

// The few WebAssembly types used here (the project's lib settings do not include them).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};

interface LedgerScanExports {
  memory: WasmMemory;
  __heap_base: { value: number };
  members_ptr(): number;
  info_ptr(): number;
  scan_body(body: number, length: number): number;
  check_line(line: number, start: number, end: number, out: number, lastHash: number, lastSeq: number): number;
  check_tuple(chunk: number, start: number, end: number, out: number, lastHash: number, lastSeq: number): number;
}

const PAGE = 65536;
/** Vector loads and stores may reach this far past the end of what they are given. */
const SLACK = 64;

/**
 * Memory after __heap_base holds two regions: `out` (what is hashed: prev_hash ‖ body) and
 * `in` (a chunk copied in whole), each with slack. Views are refreshed whenever memory grows.
 */
export class LedgerScan {
  readonly exports: LedgerScanExports;
  bytes!: Buffer;
  /** BODY_MEMBER slots found by the last scan: value start and end, relative to the body. */
  members!: Int32Array;
  /** What check_line found: next line start, seq high and low 32 bits, prev_hash start, hash start. */
  info!: Int32Array;
  readonly outPtr: number;
  private outBytes = 0;
  private inBytes = 0;

  constructor() {
    const module = new WebAssembly.Module(Buffer.from(LEDGER_SCAN_WASM, "base64"));
    this.exports = new WebAssembly.Instance(module, {}).exports as unknown as LedgerScanExports;
    this.outPtr = align(Number(this.exports.__heap_base.value));
    this.refresh();
    this.reserve(1 << 16, 0);
  }

  /** Where a chunk copied in starts. */
  get inPtr(): number {
    return align(this.outPtr + this.outBytes + SLACK);
  }

  /** Room for an output of `outBytes` and an input of `inBytes`; existing input is not kept. */
  reserve(outBytes: number, inBytes: number): void {
    if (outBytes <= this.outBytes && inBytes <= this.inBytes) return;
    this.outBytes = Math.max(this.outBytes, outBytes);
    this.inBytes = Math.max(this.inBytes, inBytes);
    const needed = this.inPtr + this.inBytes + SLACK;
    const have = this.exports.memory.buffer.byteLength;
    if (needed > have) {
      this.exports.memory.grow(Math.ceil((needed - have) / PAGE));
      this.refresh();
    }
  }

  /** Copies `chunk` (or its pieces, one after another) into the input region, reserving room; returns where it starts. */
  copyIn(chunk: Uint8Array | readonly Uint8Array[]): number {
    const pieces = chunk instanceof Uint8Array ? [chunk] : chunk;
    this.reserve(this.outBytes, pieces.reduce((sum, piece) => sum + piece.length, 0));
    const at = this.inPtr;
    let offset = at;
    for (const piece of pieces) {
      this.bytes.set(piece, offset);
      offset += piece.length;
    }
    return at;
  }

  private refresh(): void {
    const buffer = this.exports.memory.buffer;
    this.bytes = Buffer.from(buffer);
    this.members = new Int32Array(buffer, this.exports.members_ptr(), 32);
    this.info = new Int32Array(buffer, this.exports.info_ptr(), 8);
  }
}

function align(at: number): number {
  return (at + 15) & ~15;
}

let instance: LedgerScan | null = null;

/** This thread's instance, made on first use. */
export function ledgerScan(): LedgerScan {
  return (instance ??= new LedgerScan());
}

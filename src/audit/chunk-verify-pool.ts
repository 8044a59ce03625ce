import type { Worker } from "node:worker_threads";
import { startWorkerThread } from "../runtime/start-worker-thread.js";
import type { CopyChunk } from "./copy-out-tuples.js";
import { verifyCopyChunk, type ChunkVerdict } from "./verify-copy-chunk.js";
import { verifyJsonlChunk } from "./verify-jsonl-chunk.js";

/**
 * What a chunk holds: binary COPY tuples, in the socket's own buffers (handed to the worker by
 * transfer), or complete lines of a JSONL export (in shared memory).
 */
export type ChunkKind = "copy" | "jsonl";
export type Chunk = Uint8Array | CopyChunk;

export function verifyChunk(kind: ChunkKind, chunk: Chunk, checkpointSeqs: ReadonlySet<string>): ChunkVerdict {
  return kind === "copy" ? verifyCopyChunk(chunk, checkpointSeqs) : verifyJsonlChunk(chunk as Uint8Array, checkpointSeqs);
}

/**
 * Worker threads checking chunks. Until a worker has started (loading the TypeScript sources
 * takes a few hundred milliseconds) chunks are checked on the calling thread, so a small
 * ledger never waits for one.
 */
export class ChunkVerifyPool {
  private readonly workers: Worker[] = [];
  private readonly ready: Worker[] = [];
  private readonly busy = new Map<Worker, number>();
  private readonly waiting = new Map<number, (verdict: ChunkVerdict) => void>();
  private nextId = 0;
  private readonly checkpointSet: Set<string>;

  constructor(
    readonly size: number,
    checkpointSeqs: string[],
  ) {
    this.checkpointSet = new Set(checkpointSeqs);
    for (let i = 0; i < size; i++) {
      const worker = startWorkerThread(new URL("./ledger-verify-worker.ts", import.meta.url), { checkpointSeqs });
      worker.unref();
      worker.on("message", (message: { ready?: true; id?: number; verdict?: ChunkVerdict }) => {
        if (message.ready) {
          this.ready.push(worker);
          this.busy.set(worker, 0);
          return;
        }
        this.busy.set(worker, (this.busy.get(worker) ?? 1) - 1);
        const resolve = this.waiting.get(message.id!);
        this.waiting.delete(message.id!);
        resolve?.(message.verdict!);
      });
      // A worker that fails leaves its chunks to be checked on this thread, never a silent pass:
      // an export run is still here; a COPY chunk it was handed is not, and the verify stops
      // with an error (joinCopyChunk).
      worker.on("error", () => this.fail(worker));
      worker.on("exit", () => this.fail(worker));
      this.workers.push(worker);
    }
  }

  private readonly owner = new Map<number, Worker>();

  /**
   * A COPY chunk's buffers go to the worker (they are no longer usable here); a verdict that
   * is not `ok` brings its bytes back.
   */
  run(chunk: Chunk, kind: ChunkKind): Promise<ChunkVerdict> {
    let best: Worker | null = null;
    for (const worker of this.ready) if (best === null || this.busy.get(worker)! < this.busy.get(best)!) best = worker;
    if (best === null) return Promise.resolve(verifyChunk(kind, chunk, this.checkpointSet));
    const id = this.nextId++;
    this.busy.set(best, this.busy.get(best)! + 1);
    this.owner.set(id, best);
    return new Promise((resolve) => {
      this.waiting.set(id, (verdict) => {
        this.owner.delete(id);
        resolve(verdict);
      });
      const transfer = Array.isArray(chunk) ? [...new Set(chunk.map((piece) => piece.buffer as ArrayBuffer))] : [];
      best.postMessage({ id, chunk, kind }, transfer);
    });
  }

  private fail(worker: Worker): void {
    const index = this.ready.indexOf(worker);
    if (index >= 0) this.ready.splice(index, 1);
    for (const [id, owner] of this.owner) {
      if (owner !== worker) continue;
      this.owner.delete(id);
      const resolve = this.waiting.get(id);
      this.waiting.delete(id);
      resolve?.({ ok: false });
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate().catch(() => undefined)));
  }
}

// Worker thread entry (started by chunk-verify-pool.ts through start-worker-thread.ts): checks
// the chunks it is sent and answers each with its verdict. Export runs are in shared memory,
// so the main thread keeps them for the exact checks should one not verify; COPY chunks are
// handed over by transfer, so a COPY chunk that does not verify goes back with its verdict.
import { parentPort, workerData } from "node:worker_threads";
import { verifyChunk, type Chunk, type ChunkKind } from "./chunk-verify-pool.js";

// Checked by hand, not with zod: the data comes from chunk-verify-pool.ts in this process, and
// loading zod took a third of each worker's start-up, time in which the main thread verifies alone.
const { checkpointSeqs: seqs } = workerData as { checkpointSeqs: unknown };
if (!Array.isArray(seqs) || !seqs.every((seq) => typeof seq === "string")) throw new TypeError("ledger-verify-worker: workerData.checkpointSeqs must be an array of strings");
const checkpointSeqs = new Set<string>(seqs);

parentPort!.on("message", (message: { id: number; chunk: Chunk; kind: ChunkKind }) => {
  const verdict = verifyChunk(message.kind, message.chunk, checkpointSeqs);
  if (verdict.ok || !Array.isArray(message.chunk)) return parentPort!.postMessage({ id: message.id, verdict });
  // The main thread gave this chunk's buffers away: it needs the bytes back for the exact checks.
  const bytes = new Uint8Array(message.chunk.reduce((sum, piece) => sum + piece.length, 0));
  let offset = 0;
  for (const piece of message.chunk) {
    bytes.set(piece, offset);
    offset += piece.length;
  }
  parentPort!.postMessage({ id: message.id, verdict: { ok: false, bytes } }, [bytes.buffer]);
});
parentPort!.postMessage({ ready: true });

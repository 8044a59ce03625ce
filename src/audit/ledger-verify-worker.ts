// Worker thread entry (started by chunk-verify-pool.ts through start-worker-thread.ts): checks
// the chunks it is sent and answers each with its verdict. The chunks are in shared memory, so
// the main thread keeps them (for the exact checks, should one not verify) at no copying cost.
import { parentPort, workerData } from "node:worker_threads";
import { z } from "zod";
import { verifyChunk, type ChunkKind } from "./chunk-verify-pool.js";

const data = z.object({ checkpointSeqs: z.array(z.string()) }).parse(workerData);
const checkpointSeqs = new Set(data.checkpointSeqs);

parentPort!.on("message", (message: { id: number; chunk: Uint8Array; kind: ChunkKind }) => {
  parentPort!.postMessage({ id: message.id, verdict: verifyChunk(message.kind, message.chunk, checkpointSeqs) });
});
parentPort!.postMessage({ ready: true });

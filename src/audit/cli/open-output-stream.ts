import { once } from "node:events";
import fs from "node:fs";
import { AuditCliError } from "./audit-cli-error.js";

export interface OutputStream {
  /** Resolves when the stream can take more (backpressure), so memory stays flat. */
  write(chunk: string): Promise<void>;
  close(): Promise<void>;
  /** Removes a half-written file after a failure, so no truncated export is left to be trusted. */
  discard(): Promise<void>;
}

/** --out FILE (created or replaced), or the given stdout. */
export async function openOutputStream(file: string | null, stdout: NodeJS.WritableStream): Promise<OutputStream> {
  const stream: NodeJS.WritableStream = file === null ? stdout : fs.createWriteStream(file);
  let failure: Error | null = null;
  stream.on("error", (error: Error) => (failure ??= error));
  if (file !== null) {
    try {
      await once(stream, "open");
    } catch (error) {
      throw new AuditCliError(`Cannot write ${file}: ${(error as Error).message}`);
    }
  }
  const fail = (error: Error) => {
    // EPIPE: the reader went away (`| head`); stop quietly rather than dump a stack.
    if ((error as NodeJS.ErrnoException).code === "EPIPE") throw new AuditCliError("output closed by the reader; export stopped", 0);
    throw new AuditCliError(`Cannot write ${file ?? "to stdout"}: ${error.message}`);
  };
  return {
    async write(chunk) {
      if (failure) fail(failure);
      if (!stream.write(chunk)) await drainOrError(stream);
      if (failure) fail(failure);
    },
    async close() {
      if (file === null) return;
      const done = once(stream, "finish");
      stream.end();
      await done;
      if (failure) fail(failure);
    },
    async discard() {
      if (file === null) return;
      (stream as fs.WriteStream).destroy();
      await fs.promises.rm(file, { force: true });
    },
  };
}

function drainOrError(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("error", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("error", done);
  });
}

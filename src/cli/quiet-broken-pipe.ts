/** Which of the process's own output streams the reader has closed. */
export const closedOutputs = new Set<NodeJS.WritableStream>();

let installed = false;

/**
 * `accessbot audit show … | head -1`: once the reader is gone, writes fail with EPIPE, and an
 * 'error' event without a listener would kill the process with a stack trace. The command
 * should end as it would have, with its own exit code, so further output is dropped quietly.
 */
export function quietBrokenPipe(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED") {
        closedOutputs.add(stream);
        return;
      }
      // Nothing else can be said on a stream that fails: note it where it is still open.
      closedOutputs.add(stream);
      if (stream !== process.stderr && !closedOutputs.has(process.stderr)) process.stderr.write(`accessbot: cannot write output: ${error.message}\n`);
    });
  }
}

/** Writes a line to one of the process's streams unless its reader has gone. */
export function writeLine(stream: NodeJS.WriteStream, text: string): void {
  if (closedOutputs.has(stream) || stream.destroyed) return;
  stream.write(`${text}\n`);
}

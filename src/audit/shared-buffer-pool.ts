/**
 * Buffers in shared memory, handed out and taken back: what the file verifier reads into, so
 * that a run of lines reaches a worker thread with no copy, and a settled run's memory takes
 * the next read instead of a new allocation (allocating and zeroing a MiB per read cost the
 * main thread a quarter of a second per GB).
 */
export class SharedBufferPool {
  private readonly spare: Buffer[] = [];

  constructor(
    /** The size of a pooled buffer; larger requests get a buffer of their own. */
    readonly size: number,
    private readonly keep = 16,
  ) {}

  take(size: number): Buffer {
    if (size > this.size) return Buffer.from(new SharedArrayBuffer(size));
    return this.spare.pop() ?? Buffer.from(new SharedArrayBuffer(this.size));
  }

  /** `view` lies in a buffer from take(); that buffer may be handed out again. */
  release(view: Uint8Array): void {
    if (!(view.buffer instanceof SharedArrayBuffer) || view.buffer.byteLength !== this.size) return;
    if (this.spare.length < this.keep) this.spare.push(Buffer.from(view.buffer));
  }
}

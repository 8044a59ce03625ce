const tails = new Map<string, Promise<void>>();

/**
 * Runs `work` once every earlier call with the same key has settled (in this process). A
 * caller that gives up (`signal` aborts) while waiting leaves the queue without running.
 *
 * Why: the job runner serialises calls per (person, resource) only, but a Slack user group's
 * membership is replaced as a whole (read, modify, write), so two people's grants on the
 * same group must not interleave or one would drop the other.
 */
export async function runExclusive<T>(key: string, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  tails.set(key, tail);
  try {
    await waitUnlessAborted(previous, signal);
    return await work();
  } finally {
    release();
    if (tails.get(key) === tail) tails.delete(key);
  }
}

function waitUnlessAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abandoned());
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(abandoned());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, reject);
  });
}

function abandoned(): Error {
  return new Error("gave up waiting for an earlier change to the same target: the provisioner's timeout ran out");
}

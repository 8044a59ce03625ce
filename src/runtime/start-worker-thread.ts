import { Worker } from "node:worker_threads";

/**
 * Starts a worker thread on a TypeScript entry. The sources run through tsx, whose loader a
 * worker does not inherit (however the parent got it), so the worker registers it before
 * importing its entry.
 */
export function startWorkerThread(entry: URL, workerData: unknown): Worker {
  const bootstrap = `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

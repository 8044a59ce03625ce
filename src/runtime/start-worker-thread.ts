import { Worker } from "node:worker_threads";

/**
 * True when this code runs compiled (dist/…/*.js, plain node), false when it runs the
 * TypeScript sources through tsx. This module's own file name tells which.
 */
export const RUNNING_COMPILED = !import.meta.url.endsWith(".ts");

/**
 * The file a worker entry names, for the way the code runs: callers name the TypeScript source
 * (`new URL("./x.ts", import.meta.url)`); compiled, that module sits beside them as `x.js`.
 */
export function resolveWorkerEntry(entry: URL, compiled: boolean = RUNNING_COMPILED): URL {
  if (!compiled || !entry.pathname.endsWith(".ts")) return entry;
  const url = new URL(entry.href);
  url.pathname = `${url.pathname.slice(0, -".ts".length)}.js`;
  return url;
}

/**
 * Starts a worker thread on an entry module, named by its TypeScript source.
 *
 * - Compiled (dist/, `npm start` in production): the entry is the `.js` beside the caller and
 *   the worker starts on it with plain node; tsx need not be installed.
 * - From the sources (a development clone): tsx's loader is not inherited by a worker (however
 *   the parent got it), so the worker registers it before importing its entry.
 */
export function startWorkerThread(entry: URL, workerData: unknown): Worker {
  if (RUNNING_COMPILED) return new Worker(resolveWorkerEntry(entry), { workerData });
  const bootstrap = `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

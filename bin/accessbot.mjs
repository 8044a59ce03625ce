#!/usr/bin/env node
// The `accessbot` command. It runs one of two builds of the same code:
//
// - compiled JavaScript in dist/ (`npm run build`), with plain node: production, where the
//   install has no dev dependencies (`npm ci --omit=dev`), so neither tsx nor typescript;
// - the TypeScript sources in src/ through tsx: a development clone, so `npm ci && npm start`
//   works with no build step.
//
// dist/ runs when NODE_ENV=production, when ACCESSBOT_COMPILED=1, or when tsx is not installed;
// ACCESSBOT_COMPILED=0 insists on the sources. A stale dist/ is never picked in a development
// install unless asked for.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const compiledEntry = new URL("../dist/cli/run-cli.js", import.meta.url);
const sourceEntry = new URL("../src/cli/run-cli.ts", import.meta.url);

function tsxApi() {
  try {
    return import.meta.resolve("tsx/esm/api");
  } catch {
    return null;
  }
}

function fail(message) {
  process.stderr.write(`accessbot: ${message}\n`);
  process.exit(1);
}

const choice = process.env.ACCESSBOT_COMPILED?.trim().toLowerCase();
const tsx = choice === "1" || choice === "true" ? null : tsxApi();
const useCompiled = choice === "1" || choice === "true" || (choice !== "0" && choice !== "false" && (process.env.NODE_ENV === "production" || tsx === null));

let runCli;
if (useCompiled) {
  if (!existsSync(fileURLToPath(compiledEntry))) {
    fail(
      `the compiled build is missing (${fileURLToPath(compiledEntry)}): run \`npm run build\` first` +
        (tsx === null ? " (in an install with dev dependencies), then install for production with `npm ci --omit=dev`" : ", or unset NODE_ENV/ACCESSBOT_COMPILED to run the TypeScript sources"),
    );
  }
  ({ runCli } = await import(compiledEntry.href));
} else {
  if (tsx === null) fail("ACCESSBOT_COMPILED=0 runs the TypeScript sources, which needs tsx: install the dev dependencies (`npm ci`)");
  const { register } = await import(tsx);
  register();
  ({ runCli } = await import(sourceEntry.href));
}
process.exitCode = await runCli(process.argv.slice(2));

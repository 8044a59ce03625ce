#!/usr/bin/env node
// Runs the TypeScript sources directly (via tsx), so a clone needs no build step.
import { register } from "tsx/esm/api";

register();
const { runCli } = await import(new URL("../src/cli/run-cli.ts", import.meta.url).href);
process.exitCode = await runCli(process.argv.slice(2));

#!/usr/bin/env node
// `npm test`: runs node:test on the given files (arguments are passed through), with the
// PostgreSQL suites on whenever a local server answers, and ends with one line saying which
// suites were skipped and why, after node:test's own summary (CI greps that summary).
import { spawn } from "node:child_process";
import fs from "node:fs";
import pg from "pg";

const LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/test";
const args = process.argv.slice(2);

async function probe(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return null;
  } catch (error) {
    return error.message || String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const env = { ...process.env };
let postgres;
if (env.TEST_DATABASE_URL === "") postgres = { ok: false, why: "TEST_DATABASE_URL is set to the empty string (PostgreSQL turned off)" };
else if (env.TEST_DATABASE_URL) postgres = { ok: true, url: env.TEST_DATABASE_URL };
else {
  const problem = await probe(LOCAL_URL);
  if (problem === null) {
    env.TEST_DATABASE_URL = LOCAL_URL;
    postgres = { ok: true, url: LOCAL_URL };
  } else postgres = { ok: false, why: `TEST_DATABASE_URL is unset and no PostgreSQL answers at ${LOCAL_URL} (${problem})` };
}

const child = spawn(process.execPath, ["--import", "tsx", "--test", ...args], { stdio: "inherit", env });
const code = await new Promise((resolve) => child.on("exit", (status, signal) => resolve(status ?? (signal ? 1 : 0))));

const files = args.filter((arg) => !arg.startsWith("-") && fs.existsSync(arg));
const postgresFiles = files.filter((file) => /TEST_DATABASE_URL|testDatabases|DEFAULT_TEST_DATABASE_URL/.test(fs.readFileSync(file, "utf8")));
const where = postgres.ok ? new URL(postgres.url).host + new URL(postgres.url).pathname : "";
console.log(
  postgres.ok
    ? `# skipped suites: none (PostgreSQL suites ran against ${where})`
    : `# skipped suites: the PostgreSQL parts of ${postgresFiles.length} file${postgresFiles.length === 1 ? "" : "s"} (${postgresFiles.map((file) => file.replace(/^.*\//, "")).join(", ")}): ${postgres.why}`,
);
process.exit(code);

/**
 * The compiled build (`npm run build` → dist/) for tests that run the bot the way production
 * does: plain node on JavaScript, no tsx. Built once per source state, in a copy of the
 * repository, never in the checkout itself (a stale or half-written dist/ there would change
 * what `npm start` runs):
 *
 *   const build = await ensureCompiledBuild();
 *   spawn(process.execPath, [build.bin, "start"], { env: { ...env, ACCESSBOT_COMPILED: "1" } });
 *
 * The copy lives in $TMPDIR/accessbot-build-<hash>, the hash taken over everything the build
 * reads (src/, bin/, prisma/, tsconfig*.json, package*.json, prisma.config.ts), so every test
 * file of one `npm test` run, and the next run with the same sources, reuse one build. Its
 * node_modules is a symlink to the checkout's. It is built in a scratch directory and renamed
 * into place, so a concurrent or interrupted build never leaves a half-built copy behind.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** What `npm run build` reads, relative to the repository root (directories are walked). */
const BUILD_INPUTS = ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "prisma.config.ts", "bin", "prisma", "src"];

export interface CompiledBuild {
  /** The built copy of the repository (package.json, bin/, prisma/, src/, dist/). */
  root: string;
  /** Its dist/ directory. */
  dist: string;
  /** Its bin/accessbot.mjs; run it with ACCESSBOT_COMPILED=1 (its node_modules has tsx). */
  bin: string;
  /** The source hash naming the copy. */
  hash: string;
  /** True when this call built it, false when an earlier build was reused. */
  built: boolean;
  /** How long the build took (0 when reused). */
  buildMs: number;
}

function listFiles(dir: string, into: string[]): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) listFiles(full, into);
    else if (entry.isFile()) into.push(full);
  }
}

/** sha256 over the build's inputs (names and contents), first 16 hex digits. */
export function sourceHash(root = REPO_ROOT): string {
  const hash = createHash("sha256");
  const files: string[] = [];
  for (const input of BUILD_INPUTS) {
    const full = path.join(root, input);
    if (!fs.existsSync(full)) continue;
    if (fs.statSync(full).isDirectory()) listFiles(full, files);
    else files.push(full);
  }
  for (const file of files) {
    hash.update(path.relative(root, file)).update("\0").update(fs.readFileSync(file)).update("\0");
  }
  hash.update(process.version);
  return hash.digest("hex").slice(0, 16);
}

function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NODE_ENV: "" }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} in ${cwd} failed (${signal ?? `code ${code}`}):\n${output.slice(-4000)}`));
    });
  });
}

let pending: Promise<CompiledBuild> | null = null;

/** The compiled build of the current sources: reused if it exists, else built now (`npm run build` in a copy). */
export function ensureCompiledBuild(): Promise<CompiledBuild> {
  pending ??= build().catch((error: unknown) => {
    pending = null;
    throw error;
  });
  return pending;
}

async function build(): Promise<CompiledBuild> {
  const hash = sourceHash();
  const root = path.join(os.tmpdir(), `accessbot-build-${hash}`);
  const result = (built: boolean, buildMs: number): CompiledBuild => ({ root, dist: path.join(root, "dist"), bin: path.join(root, "bin/accessbot.mjs"), hash, built, buildMs });
  if (fs.existsSync(path.join(root, "dist/cli/run-cli.js"))) return result(false, 0);

  const started = Date.now();
  const scratch = `${root}.tmp-${randomBytes(4).toString("hex")}`;
  fs.mkdirSync(scratch, { recursive: true });
  try {
    for (const input of BUILD_INPUTS) {
      const from = path.join(REPO_ROOT, input);
      if (fs.existsSync(from)) fs.cpSync(from, path.join(scratch, input), { recursive: true, filter: (source) => !source.includes(`${path.sep}generated${path.sep}`) });
    }
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(scratch, "node_modules"), "dir");
    // The real script, so the test covers it: it regenerates the Prisma client into the copy's
    // src/generated and compiles everything to dist/.
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    await run(npm, ["run", "--silent", "build"], scratch, 240_000);
    // Everyone may read it: the smoke test runs the bot as an unprivileged user.
    fs.chmodSync(scratch, 0o755);
    try {
      fs.renameSync(scratch, root);
    } catch (error) {
      // Another process finished the same build first: use theirs.
      if (!fs.existsSync(path.join(root, "dist/cli/run-cli.js"))) throw error;
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  } catch (error) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
  removeOldBuilds(root);
  return result(true, Date.now() - started);
}

/** Builds of other source states untouched for a day are removed, so $TMPDIR does not fill up. */
function removeOldBuilds(keep: string): void {
  const dir = path.dirname(keep);
  for (const name of fs.readdirSync(dir)) {
    const full = path.join(dir, name);
    if (!name.startsWith("accessbot-build-") || full === keep) continue;
    try {
      if (Date.now() - fs.statSync(full).mtimeMs > 24 * 3600_000) fs.rmSync(full, { recursive: true, force: true });
    } catch {
      // in use or already gone
    }
  }
}

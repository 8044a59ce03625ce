#!/usr/bin/env node
// Stand-in for Prisma's native `schema-engine` binary.
//
// Why: every Prisma 7 CLI command first downloads a native schema engine from Prisma's binary
// host, which is unreachable where this bot is built and deployed (npm registry only). The same
// engine is published on npm as WebAssembly (@prisma/schema-engine-wasm, version pinned to the
// CLI's engine hash). prisma.config.ts points PRISMA_SCHEMA_ENGINE_BINARY here; this script
// speaks the binary's protocol and runs every call on the wasm engine through a driver adapter.
//
// Protocol (as the 7.10.0 CLI uses it):
//   --version                                   -> "schema-engine-cli <hash>" on stdout
//   --datasource JSON cli <command>             -> short run, exit 0, or exit 1 + JSON log on stderr
//   --datamodels F… --datasource JSON [...]     -> JSON-RPC 2.0 session, one object per line
//
// Workarounds for defects in the published 7.10.0 pieces (numbered as in the doc):
//   1. adapter-pg cannot decode "char" (OID 18), used by the engine's catalog queries: the pg
//      client reports such columns as text.
//   2. adapter-pg's connectToShadowDb() connects to the MAIN database when built from a URL:
//      connections here are built from parsed fields, and a shadow equal to main is refused.
//   3. adapter-pg's executeScript() splits on ";": scripts go as ONE simple-protocol query, so
//      a migration runs in one implicit transaction and `;` in strings/functions is safe.
//   4. pglite-prisma-adapter's executeScript() does not await exec(): it is awaited here.
//   5. createMigration/evaluateDataLoss can fail with "shadow DB must be provided through an
//      external factory" until the migration cache is warm: warm it with
//      diagnoseMigrationHistory and retry once.
//   6. A configured shadow database is not reset between uses: its schema is dropped and
//      recreated before every use.
//   7. With ?schema=x the engine's DDL is unqualified: search_path is set to x and x is created.
//   8. PGlite has no lock between processes: a lock file next to the data directory refuses a
//      second opener (same protocol as src/db/acquire-pglite-lock.ts).
//
// The PGlite datasource URL form is postgresql://pglite.invalid/pglite?data_dir=<dir>; it is
// produced by src/db/resolve-database-target.ts (this file is plain JS and cannot import it).

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";

// Node prints warnings on stderr; the CLI parses stderr as JSON lines, so keep it clean.
process.removeAllListeners("warning");

const require = createRequire(import.meta.url);
const PGLITE_URL_HOST = "pglite.invalid";
const PGLITE_MEMORY = ":memory:";

const log = {
  write(level, message, extra = {}) {
    process.stderr.write(
      JSON.stringify({
        timestamp: new Date().toISOString(),
        level,
        fields: { message, ...extra },
        target: "schema_engine::logger",
      }) + "\n",
    );
  },
  info(message) {
    this.write("INFO", message);
  },
};

class EngineError extends Error {
  constructor(errorCode, message, meta = null) {
    super(message);
    this.errorCode = errorCode;
    this.meta = meta;
  }
}

function engineHash() {
  const bindingsPath = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
  const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(bindingsPath), "package.json"), "utf8"));
  return pkg.version.split(".").pop().split("-").pop();
}

function parseArgs(argv) {
  const args = { datamodels: [], datasource: null, cli: null, version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      const value = argv[++i];
      if (value === undefined) throw new Error(`Missing value after ${arg}`);
      return value;
    };
    if (arg === "--version" || arg === "-V") args.version = true;
    else if (arg === "--datamodels") args.datamodels.push(next());
    else if (arg === "--datasource") args.datasource = JSON.parse(next());
    else if (arg === "--enabled-preview-features" || arg === "--extension-types") next();
    else if (arg === "cli") args.cli = next();
    else throw new Error(`Unknown argument ${arg}`);
  }
  return args;
}

// ---------------------------------------------------------------------------------------------
// Datasource URLs

function parseTarget(urlString, role = "datasource") {
  if (!urlString) throw new EngineError("P1012", `The ${role} URL is empty. Set it in prisma.config.ts.`);
  let url;
  try {
    url = new URL(urlString);
  } catch {
    throw new EngineError("P1013", `The provided ${role} URL is not a valid URL.`);
  }
  if (url.protocol !== "postgresql:" && url.protocol !== "postgres:") {
    throw new EngineError("P1013", `The ${role} URL must start with postgresql:// (got ${url.protocol}).`);
  }
  if (url.hostname === PGLITE_URL_HOST) {
    const dataDir = url.searchParams.get("data_dir");
    if (!dataDir) throw new EngineError("P1013", `A PGlite ${role} URL needs ?data_dir=<directory>.`);
    return { kind: "pglite", dataDir: dataDir === PGLITE_MEMORY ? PGLITE_MEMORY : path.resolve(dataDir) };
  }
  const { parse } = require(require.resolve("pg-connection-string", { paths: [path.dirname(require.resolve("pg"))] }));
  const parsed = parse(urlString);
  const schema = url.searchParams.get("schema") || undefined;
  // Defect 2: a pool built from `connectionString` ignores an overriding `database`, so every
  // connection is built from parsed fields instead.
  const config = {};
  for (const key of ["host", "port", "user", "password", "database", "ssl", "options", "application_name"]) {
    if (parsed[key] !== undefined && parsed[key] !== null) config[key] = parsed[key];
  }
  if (config.port !== undefined) config.port = Number(config.port);
  config.database ??= config.user ?? os.userInfo().username;
  return { kind: "postgres", config, schema };
}

function describeTarget(urlString) {
  const target = parseTarget(urlString);
  return target.kind === "pglite" ? target.dataDir : target.config.database;
}

function describePg(config) {
  return `${config.host ?? "localhost"}:${config.port ?? 5432}`;
}

function quoteIdent(name) {
  return `"${String(name).replaceAll('"', '""')}"`;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL through @prisma/adapter-pg

let pgModules;
async function loadPg() {
  if (!pgModules) {
    const pg = (await import("pg")).default;
    const { PrismaPg } = await import("@prisma/adapter-pg");
    const { DriverAdapterError } = await import("@prisma/driver-adapter-utils");
    // Defect 1: the engine's catalog queries return "char" columns (OID 18), which adapter-pg
    // refuses to decode. Their text form is the character itself, so report them as text.
    class CharAsTextClient extends pg.Client {
      _handleRowDescription(msg) {
        for (const field of msg.fields) if (field.dataTypeID === 18) field.dataTypeID = 25;
        return super._handleRowDescription(msg);
      }
    }
    pgModules = { pg, PrismaPg, DriverAdapterError, CharAsTextClient };
  }
  return pgModules;
}

function toDriverAdapterError(DriverAdapterError, error) {
  if (error && typeof error.code === "string" && typeof error.severity === "string") {
    return new DriverAdapterError({
      kind: "postgres",
      code: error.code,
      severity: error.severity,
      message: error.message,
      detail: error.detail,
      column: error.column,
      hint: error.hint,
    });
  }
  return error;
}

function pgPoolConfig(config, schema, CharAsTextClient) {
  // One connection, like the native engine: the engine holds a session-level advisory lock and
  // expects every later statement to run in that same session.
  const poolConfig = { ...config, Client: CharAsTextClient, max: 1 };
  if (schema) {
    // Defect 7: the engine's DDL is unqualified, so it must land in the chosen schema.
    const searchPath = quoteIdent(schema).replace(/[\\ ]/g, "\\$&");
    poolConfig.options = [config.options, `-c search_path=${searchPath}`].filter(Boolean).join(" ");
  }
  return poolConfig;
}

async function openPgAdapter(config, schema, onDispose) {
  const { pg, PrismaPg, DriverAdapterError, CharAsTextClient } = await loadPg();
  const pool = new pg.Pool(pgPoolConfig(config, schema, CharAsTextClient));
  pool.on("error", () => {});
  try {
    // Only when missing: even with IF NOT EXISTS, CREATE SCHEMA needs CREATE on the database,
    // which the owner role of a schema made by `accessbot db setup-roles` does not have.
    if (schema && (await pool.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema])).rowCount === 0) {
      await pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    }
  } catch (error) {
    await pool.end();
    throw toDriverAdapterError(DriverAdapterError, error);
  }
  const inner = await new PrismaPg(pool, { schema, disposeExternalPool: true }).connect();
  return {
    ...delegateTo(inner),
    // Defect 3: one simple-protocol query (no parameters) is one implicit transaction, exactly
    // like the native engine's raw_cmd.
    async executeScript(script) {
      try {
        await pool.query(script);
      } catch (error) {
        throw toDriverAdapterError(DriverAdapterError, error);
      }
    },
    async dispose() {
      await inner.dispose();
      await onDispose?.();
    },
  };
}

/** The adapter methods both wrappers pass through unchanged; each overrides executeScript and dispose. */
function delegateTo(inner) {
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    queryRaw: (query) => inner.queryRaw(query),
    executeRaw: (query) => inner.executeRaw(query),
    startTransaction: (isolationLevel) => inner.startTransaction(isolationLevel),
    getConnectionInfo: () => inner.getConnectionInfo(),
  };
}

function samePgDatabase(a, b) {
  const host = (h) => (!h || h === "localhost" || h === "127.0.0.1" || h === "::1" ? "local" : h.toLowerCase());
  return (
    host(a.config.host) === host(b.config.host) &&
    Number(a.config.port ?? 5432) === Number(b.config.port ?? 5432) &&
    a.config.database === b.config.database
  );
}

class PgMigrationFactory {
  provider = "postgres";
  adapterName = "@prisma/adapter-pg";

  constructor(target, shadowTarget) {
    this.target = target;
    this.shadowTarget = shadowTarget;
  }

  connect() {
    return openPgAdapter(this.target.config, this.target.schema);
  }

  async connectToShadowDb() {
    if (this.shadowTarget) {
      // Defect 6: a configured shadow database keeps whatever the previous run left in it.
      // Inside it the MAIN schema name is used: the engine compares shadow and main schemas
      // by name, and a differently named shadow schema shows up as spurious drift.
      const schema = this.target.schema ?? "public";
      const adapter = await openPgAdapter(this.shadowTarget.config, this.target.schema);
      await adapter.executeScript(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE; CREATE SCHEMA ${quoteIdent(schema)};`);
      return adapter;
    }
    // No shadow configured: a temporary database on the same server (needs CREATEDB), as the
    // native engine does.
    const { pg, DriverAdapterError } = await loadPg();
    const name = `prisma_migrate_shadow_db_${randomUUID()}`;
    const admin = new pg.Client(this.target.config);
    try {
      await admin.connect();
      await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
    } catch (error) {
      await admin.end().catch(() => {});
      throw toDriverAdapterError(DriverAdapterError, error);
    }
    const dropShadow = async () => {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      } catch {
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`).catch(() => {});
      } finally {
        await admin.end().catch(() => {});
      }
    };
    try {
      return await openPgAdapter({ ...this.target.config, database: name }, this.target.schema, dropShadow);
    } catch (error) {
      await dropShadow();
      throw error;
    }
  }

  async close() {}
}

// ---------------------------------------------------------------------------------------------
// PGlite through pglite-prisma-adapter

function lockPathFor(dataDir) {
  return `${dataDir.replace(/[\\/]+$/, "")}.lock`;
}

function processIsAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

// Defect 8. Same protocol as src/db/acquire-pglite-lock.ts: an exclusively created
// `<dataDir>.lock` holding {pid, hostname}; a lock whose process is gone on this host is stale.
function acquirePgliteLock(dataDir) {
  const lockPath = lockPathFor(dataDir);
  fs.mkdirSync(path.dirname(lockPath), { recursive: true });
  const body = JSON.stringify({ pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString(), by: "prisma schema engine" });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockPath, body, { flag: "wx" });
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          if (fs.readFileSync(lockPath, "utf8") === body) fs.unlinkSync(lockPath);
        } catch {}
      };
      process.once("exit", release);
      return release;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
    let holder;
    let raw;
    try {
      raw = fs.readFileSync(lockPath, "utf8");
      holder = JSON.parse(raw);
    } catch {
      holder = null;
    }
    const stale = holder && holder.hostname === os.hostname() && Number.isInteger(holder.pid) && !processIsAlive(holder.pid);
    if (!stale) {
      const who = holder ? `process ${holder.pid} on ${holder.hostname}` : "another process";
      throw new EngineError(
        "P1001",
        `PGlite data directory ${dataDir} is in use by ${who} (lock file ${lockPath}). Stop that process (PGlite allows one process per directory) and retry; delete the lock file only if that process is gone.`,
      );
    }
    // Only remove the lock we judged stale, not one a competitor wrote meanwhile.
    try {
      if (fs.readFileSync(lockPath, "utf8") === raw) fs.unlinkSync(lockPath);
    } catch {}
  }
  throw new EngineError("P1001", `Could not take the lock file ${lockPath} for PGlite data directory ${dataDir}.`);
}

let pgliteModules;
async function loadPglite() {
  if (!pgliteModules) {
    const { PGlite } = await import("@electric-sql/pglite");
    const { PrismaPGlite } = await import("pglite-prisma-adapter");
    pgliteModules = { PGlite, PrismaPGlite };
  }
  return pgliteModules;
}

async function wrapPglite(db) {
  const { PrismaPGlite } = await loadPglite();
  const inner = await new PrismaPGlite(db).connect();
  return {
    ...delegateTo(inner),
    // Defect 4: the adapter does not await exec(), so errors vanished. Awaited here, and
    // mapped like the adapter's own errors.
    async executeScript(script) {
      try {
        await db.exec(script);
      } catch (error) {
        if (error && typeof error.code === "string" && typeof error.severity === "string") {
          const { DriverAdapterError } = await import("@prisma/driver-adapter-utils");
          throw toDriverAdapterError(DriverAdapterError, error);
        }
        throw error;
      }
    },
    // The PGlite instance outlives the adapters: the engine connects more than once per
    // session, and two PGlite instances on one directory would corrupt it.
    async dispose() {},
  };
}

async function resetAllSchemas(db) {
  const { rows } = await db.query(
    `SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'`,
  );
  const drops = rows.map((r) => `DROP SCHEMA ${quoteIdent(r.nspname)} CASCADE;`).join("\n");
  await db.exec(`${drops}\nCREATE SCHEMA public;`);
}

class PgliteMigrationFactory {
  provider = "postgres";
  adapterName = "pglite-prisma-adapter";

  constructor(target, shadowTarget) {
    this.target = target;
    this.shadowTarget = shadowTarget;
    this.main = null;
    this.shadow = null;
    this.releases = [];
  }

  async open(dataDir) {
    const { PGlite } = await loadPglite();
    if (dataDir === PGLITE_MEMORY) return PGlite.create("memory://");
    this.releases.push(acquirePgliteLock(dataDir));
    fs.mkdirSync(dataDir, { recursive: true });
    return PGlite.create(dataDir);
  }

  // The engine connects (and probes the server version) as soon as it is constructed, so every
  // session opens the main database, even for `migrate diff` between files.
  async connect() {
    this.main ??= this.open(this.target.dataDir);
    return wrapPglite(await this.main);
  }

  async connectToShadowDb() {
    // One shadow instance per session, emptied before each use (defect 6): opening a fresh
    // in-memory PGlite costs over a second and `migrate dev` asks for a shadow several times.
    this.shadow ??= this.open(this.shadowTarget?.dataDir ?? PGLITE_MEMORY);
    const db = await this.shadow;
    await resetAllSchemas(db);
    return wrapPglite(db);
  }

  async close() {
    for (const pending of [this.main, this.shadow]) {
      if (!pending) continue;
      const db = await pending.catch(() => null);
      await db?.close().catch(() => {});
    }
    for (const release of this.releases) release();
  }
}

function createFactory(datasource) {
  const target = parseTarget(datasource?.url);
  const shadowTarget = datasource?.shadowDatabaseUrl ? parseTarget(datasource.shadowDatabaseUrl, "shadow database") : null;
  if (shadowTarget && shadowTarget.kind !== target.kind) {
    throw new EngineError("P1013", "The shadow database must be the same kind (PostgreSQL or PGlite) as the main database.");
  }
  if (target.kind === "pglite") {
    if (shadowTarget && shadowTarget.dataDir !== PGLITE_MEMORY && shadowTarget.dataDir === target.dataDir) {
      throw new EngineError("P1013", "The shadow database URL points at the main PGlite directory. Migrate would erase it: use another directory or no shadow URL.");
    }
    return new PgliteMigrationFactory(target, shadowTarget);
  }
  if (shadowTarget && samePgDatabase(target, shadowTarget)) {
    // Defect 2: the shadow is wiped on every use; pointing it at the main database would wipe
    // real data. (Another schema of the same database is refused too: see connectToShadowDb.)
    throw new EngineError(
      "P1013",
      "The shadow database URL points at the main database. Migrate wipes the shadow database on every use: set SHADOW_DATABASE_URL to a separate, disposable database, or unset it to use a temporary one.",
    );
  }
  return new PgMigrationFactory(target, shadowTarget);
}

// ---------------------------------------------------------------------------------------------
// `cli` short runs

function mapConnectError(error, target) {
  const at = describePg(target.config);
  switch (error?.code) {
    case "3D000":
      return new EngineError("P1003", `Database \`${target.config.database}\` does not exist on the database server at \`${at}\`.`, {
        database_name: target.config.database,
        database_host: target.config.host,
        database_port: target.config.port ?? 5432,
      });
    case "28P01":
    case "28000":
      return new EngineError("P1000", `Authentication failed against database server at \`${at}\`, the provided database credentials for \`${target.config.user ?? ""}\` are not valid.`);
    case "42501":
      return new EngineError("P1010", `User \`${target.config.user ?? ""}\` was denied access on the database \`${target.config.database}\``);
    default:
      if (error instanceof EngineError) return error;
      return new EngineError("P1001", `Can't reach database server at \`${at}\`\n\nPlease make sure your database server is running at \`${at}\`. (${error?.message ?? error})`);
  }
}

async function withPgClient(config, fn) {
  const { pg } = await loadPg();
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 10_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

function checkPgliteLockFree(dataDir) {
  if (dataDir === PGLITE_MEMORY) return;
  acquirePgliteLock(dataDir)();
}

async function runCliCommand(command, datasource) {
  const target = parseTarget(datasource?.url);
  if (target.kind === "pglite") {
    switch (command) {
      case "can-connect-to-database":
        checkPgliteLockFree(target.dataDir);
        return;
      case "create-database":
        if (target.dataDir !== PGLITE_MEMORY) fs.mkdirSync(target.dataDir, { recursive: true });
        return;
      case "drop-database":
        if (target.dataDir === PGLITE_MEMORY) return;
        checkPgliteLockFree(target.dataDir);
        // Refuse to delete a directory that is not a PostgreSQL data directory.
        if (fs.existsSync(target.dataDir) && !fs.existsSync(path.join(target.dataDir, "PG_VERSION"))) {
          throw new EngineError("P1001", `${target.dataDir} is not a PGlite data directory; refusing to delete it.`);
        }
        fs.rmSync(target.dataDir, { recursive: true, force: true });
        return;
      default:
        throw new Error(`Unknown cli command ${command}`);
    }
  }
  const { config } = target;
  const maintenance = { ...config, database: "postgres" };
  try {
    switch (command) {
      case "can-connect-to-database":
        await withPgClient(config, () => {});
        return;
      case "create-database":
        await withPgClient(maintenance, (c) => c.query(`CREATE DATABASE ${quoteIdent(config.database)}`));
        process.stdout.write(`Database '${config.database}' was successfully created.\n`);
        return;
      case "drop-database":
        await withPgClient(maintenance, (c) => c.query(`DROP DATABASE ${quoteIdent(config.database)}`));
        return;
      default:
        throw new Error(`Unknown cli command ${command}`);
    }
  } catch (error) {
    throw mapConnectError(error, target);
  }
}

// ---------------------------------------------------------------------------------------------
// The wasm engine

async function loadEngineModule() {
  // Node 20 cannot import .wasm: instantiate it by hand with the generated bindings as imports.
  const bindingsPath = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
  const bindings = await import("@prisma/schema-engine-wasm/schema_engine_bg");
  const wasmPath = path.join(path.dirname(bindingsPath), "schema_engine_bg.wasm");
  const module = new WebAssembly.Module(fs.readFileSync(wasmPath));
  const instance = new WebAssembly.Instance(module, { "./schema_engine_bg.js": bindings });
  bindings.__wbg_set_wasm(instance.exports);
  globalThis.PRISMA_WASM_PANIC_REGISTRY = {
    set_message(message) {
      log.write("ERROR", `panic: ${message}`, { is_panic: true });
    },
  };
  instance.exports.__wbindgen_start();
  return bindings;
}

function toRpcError(error) {
  if (error instanceof EngineError) {
    return { code: 4466, message: error.message, data: { is_panic: false, message: error.message, error_code: error.errorCode, meta: error.meta } };
  }
  // The wasm engine rejects with plain objects or Errors carrying the user-facing fields.
  const source = error && typeof error === "object" ? error : { message: String(error) };
  const message = source.message ?? String(error);
  const isPanic = /panicked|RuntimeError: unreachable/.test(message);
  return {
    code: 4466,
    message,
    data: {
      is_panic: isPanic,
      message,
      error_code: source.error_code ?? source.errorCode ?? source.code ?? undefined,
      meta: source.meta ?? null,
      ...(isPanic ? { error: { message } } : {}),
    },
  };
}

// Errors thrown inside the adapter reach the engine as "External error id#N"; the original
// (with PostgreSQL's message, or a lock refusal) waits in the error registry.
function withAdapterCause(error, boundFactory) {
  const text = String(error?.message ?? error);
  const match = /External error id#(\d+)/.exec(text);
  const record = match && boundFactory ? boundFactory.errorRegistry.consumeError(Number(match[1])) : undefined;
  if (!record) return error;
  const cause = record.error;
  if (cause instanceof EngineError) return cause;
  const causeText = String(cause?.message ?? cause);
  const wrapped = new Error(text.replace(match[0], causeText));
  if (error && typeof error === "object") Object.assign(wrapped, { error_code: error.error_code, meta: error.meta });
  return wrapped;
}

function isCacheMiss(error) {
  return /shadow DB must be provided through an external factory/.test(String(error?.message ?? error));
}

async function runSession(args) {
  const { bindAdapterFactory, SchemaEngine } = await (async () => {
    const utils = await import("@prisma/driver-adapter-utils");
    const bindings = await loadEngineModule();
    return { bindAdapterFactory: utils.bindMigrationAwareSqlAdapterFactory, SchemaEngine: bindings.SchemaEngine };
  })();

  // The CLI ends a session by closing stdin and at once sending SIGTERM: finish the request in
  // flight, then close PGlite cleanly (it flushes to disk) and release its lock.
  let queue = Promise.resolve();
  let closing = false;
  let factory = null;
  const shutdown = async (code = 0) => {
    if (closing) return;
    closing = true;
    await queue.catch(() => {});
    await factory?.close().catch(() => {});
    process.exit(code);
  };
  process.on("SIGTERM", () => void shutdown(0));
  process.on("SIGINT", () => void shutdown(130));

  // A bad datasource, or a database that cannot be opened (the engine connects and probes the
  // server while it is constructed), must reach the CLI as the answer to its request rather
  // than as a crash.
  let boundFactory = null;
  let engine = null;
  let startupError = null;
  try {
    factory = createFactory(args.datasource);
    boundFactory = bindAdapterFactory(factory);
    const datamodels = args.datamodels.map((file) => [file, fs.readFileSync(file, "utf8")]);
    engine = await SchemaEngine.new(
      { datamodels: datamodels.length > 0 ? datamodels : undefined },
      (logLine) => {
        // The engine logs JSON tracing lines; pass them on as the binary would.
        const text = String(logLine);
        try {
          JSON.parse(text);
          process.stderr.write(text.endsWith("\n") ? text : text + "\n");
        } catch {
          log.info(text);
        }
      },
      boundFactory,
    );
  } catch (error) {
    startupError = withAdapterCause(error, boundFactory);
  }

  let nextOutgoingId = 1_000_000;
  const pendingOutgoing = new Map();
  const send = (message) => process.stdout.write(JSON.stringify(message) + "\n");
  const requestFromCli = (method, params) =>
    new Promise((resolve, reject) => {
      const id = nextOutgoingId++;
      pendingOutgoing.set(id, { resolve, reject });
      send({ jsonrpc: "2.0", id, method, params });
    });

  async function call(method, params) {
    // Methods of the binary's RPC surface that the wasm class lacks or names differently.
    if (method === "getDatabaseVersion" || method === "version") return engine.version(params?.datasource ? params : null);
    if (method === "createDatabase") {
      await runCliCommand("create-database", args.datasource);
      return { databaseName: describeTarget(args.datasource?.url) };
    }
    if (typeof engine[method] !== "function" || method === "free" || method.startsWith("__")) {
      throw Object.assign(new Error(`Method not found: ${method}`), { rpcCode: -32601 });
    }
    try {
      return await engine[method](params ?? {});
    } catch (error) {
      if ((method === "createMigration" || method === "evaluateDataLoss" || method === "devDiagnostic") && isCacheMiss(error) && params?.migrationsList) {
        // Defect 5.
        log.info(`${method}: warming the migration cache and retrying`);
        await engine.diagnoseMigrationHistory({ migrationsList: params.migrationsList, optInToShadowDatabase: true, filters: params.filters ?? { externalTables: [], externalEnums: [] } });
        return await engine[method](params);
      }
      throw error;
    }
  }

  async function handle(request) {
    try {
      if (startupError) throw startupError;
      let result = await call(request.method, request.params);
      if (request.method === "diff" && result && typeof result.stdout === "string") {
        // The binary prints diffs through the CLI; the wasm build returns them instead.
        if (result.stdout.length > 0) await requestFromCli("print", { content: result.stdout });
        result = { ...result, stdout: null };
      }
      send({ jsonrpc: "2.0", id: request.id, result: result ?? {} });
    } catch (error) {
      if (error?.rpcCode) send({ jsonrpc: "2.0", id: request.id, error: { code: error.rpcCode, message: error.message } });
      else send({ jsonrpc: "2.0", id: request.id, error: toRpcError(withAdapterCause(error, boundFactory)) });
    }
  }

  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on("line", (line) => {
    if (!line.trim()) return;
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      send({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } });
      return;
    }
    if (message.method === undefined && pendingOutgoing.has(message.id)) {
      const pending = pendingOutgoing.get(message.id);
      pendingOutgoing.delete(message.id);
      if (message.error) pending.reject(new Error(message.error.message));
      else pending.resolve(message.result);
      return;
    }
    // Requests run one at a time, in order, as in the binary.
    queue = queue.then(() => handle(message));
  });
  lines.on("close", () => void shutdown(0));
}

// ---------------------------------------------------------------------------------------------

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  if (args.version) {
    process.stdout.write(`schema-engine-cli ${engineHash()}\n`);
    return;
  }
  if (args.cli) {
    try {
      await runCliCommand(args.cli, args.datasource);
      process.exit(0);
    } catch (error) {
      // The CLI skips the first stderr line and reads the error from the next JSON line.
      log.info(`Running cli ${args.cli}`);
      const engineError = error instanceof EngineError ? error : new EngineError("P1001", String(error?.message ?? error));
      log.write("ERROR", engineError.message, { error_code: engineError.errorCode, message: engineError.message });
      process.exit(1);
    }
  }
  await runSession(args);
}

// The wasm bindings throw some errors (e.g. malformed parameters) from inside callbacks, where
// no promise can catch them: report them the way the binary reports a panic.
process.on("uncaughtException", (error) => {
  log.write("ERROR", String(error?.message ?? error), { is_panic: true, backtrace: String(error?.stack ?? "") });
  process.exit(101);
});

main().catch((error) => {
  log.write("ERROR", String(error?.stack ?? error), { message: String(error?.message ?? error) });
  process.exit(1);
});

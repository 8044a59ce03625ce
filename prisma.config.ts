import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "prisma/config";
import { databaseTargetToUrl, resolveDatabaseTarget } from "./src/db/resolve-database-target.js";

const projectDir = path.dirname(fileURLToPath(import.meta.url));

// The CLI would otherwise download the native schema engine from Prisma's binary host, which
// is unreachable where this bot is deployed; the stand-in runs the same engine compiled to
// WebAssembly from npm. `??=` keeps a deliberately chosen native binary usable.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.join(projectDir, "prisma/engine/schema-engine.mjs");

const shadowDatabaseUrl = process.env.SHADOW_DATABASE_URL?.trim();

export default defineConfig({
  schema: path.join(projectDir, "prisma/schema.prisma"),
  migrations: { path: path.join(projectDir, "prisma/migrations") },
  datasource: {
    // Same resolution as the running app (src/db/resolve-database-target.ts), so the CLI
    // migrates exactly the database the bot would open.
    url: databaseTargetToUrl(resolveDatabaseTarget(process.env, projectDir)),
    ...(shadowDatabaseUrl ? { shadowDatabaseUrl } : {}),
  },
});

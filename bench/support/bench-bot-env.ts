import type { SlackSimulator } from "../../src/slack-simulator/slack-simulator.js";
import { SIGNING_SECRET } from "../../test/support/start-test-bot.js";

/** The environment of a bot process under benchmark: the simulator as Slack, quiet logs. */
export function benchBotEnv(sim: SlackSimulator, databaseUrl: string, policyFile: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    SLACK_BOT_TOKEN: sim.botToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: sim.apiUrl,
    ACCESS_POLICY_FILE: policyFile,
    LOG_LEVEL: "warn",
    // As `npm start`, deploy/Dockerfile and deploy/accessbot.service run it (MALLOC_ARENA_MAX=0 for glibc's default).
    MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? "2",
    // and with the main thread's young generation as small (their `node --max-semi-space-size=1`).
    // e.g. BENCH_BOT_NODE_OPTIONS="--import ./bench/support/cpu-profile.mjs" CPU_PROFILE_DIR=/tmp/prof to see where the bot's time goes.
    NODE_OPTIONS: ["--max-semi-space-size=1", process.env.BENCH_BOT_NODE_OPTIONS ?? ""].join(" ").trim(),
    ...(process.env.BENCH_BOT_NODE_OPTIONS ? { CPU_PROFILE_DIR: process.env.CPU_PROFILE_DIR ?? "/tmp" } : {}),
  };
}

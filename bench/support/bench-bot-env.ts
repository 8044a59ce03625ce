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
    // ACCESSBOT_IDLE_SCHEDULING=true npm run bench:ack measures the bot with SCHED_IDLE work threads.
    ...(process.env.ACCESSBOT_IDLE_SCHEDULING ? { ACCESSBOT_IDLE_SCHEDULING: process.env.ACCESSBOT_IDLE_SCHEDULING } : {}),
    // e.g. BENCH_BOT_NODE_OPTIONS="--import ./bench/support/cpu-profile.mjs" CPU_PROFILE_DIR=/tmp/prof to see where the bot's time goes.
    ...(process.env.BENCH_BOT_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_BOT_NODE_OPTIONS, CPU_PROFILE_DIR: process.env.CPU_PROFILE_DIR ?? "/tmp" } : {}),
  };
}

// The baseline of bench/ack-latency.bench.ts: the same Bolt, signing and HTTP receiver as the
// bot, with listeners that only ack. Plain JavaScript, run as its own process as the bot is.
import bolt from "@slack/bolt";

const silent = { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => "error", setName() {} };
const app = new bolt.App({
  token: process.env.SLACK_BOT_TOKEN,
  signingSecret: process.env.SLACK_SIGNING_SECRET,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
  logger: silent,
  customRoutes: [{ path: "/healthz", method: ["GET"], handler: (_request, response) => response.end("ok") }],
});
app.command("/access", async ({ ack }) => {
  await ack();
});
app.action(/.*/, async ({ ack }) => {
  await ack();
});
await app.start(Number(process.env.PORT));

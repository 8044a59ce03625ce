// The load generator of bench/ack-latency.bench.ts, in its own process so that the Slack
// simulator's work (it answers the bot's Web API calls) never delays a measurement. Reads
// { url, secret, rate, bodies } as JSON on stdin, sends each body signed as Slack signs it at
// `rate` per second, and prints the response times in ms as a JSON array.
import { postToBot } from "../../test/support/slack-requests.js";

const input = JSON.parse(await new Response(process.stdin as unknown as ReadableStream).text()) as { url: string; secret: string; rate: number; bodies: string[] };
const times: number[] = [];
const sends: Promise<void>[] = [];
const started = performance.now();
for (let i = 0; i < input.bodies.length; i++) {
  const wait = started + (i * 1000) / input.rate - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const body = input.bodies[i]!;
  sends.push(
    (async () => {
      const t0 = performance.now();
      const response = await postToBot(input.url, input.secret, { body, contentType: "application/x-www-form-urlencoded" });
      times.push(performance.now() - t0);
      if (response.status !== 200) throw new Error(`HTTP ${response.status} from ${input.url}`);
    })(),
  );
}
await Promise.all(sends);
process.stdout.write(JSON.stringify(times));

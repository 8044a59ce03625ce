import bolt from "@slack/bolt";
const { App } = bolt as any;
const clientOptions = { slackApiUrl: "http://127.0.0.1:9/api/" };
const app = new App({ token: "xoxb-1", appToken: "xapp-1", socketMode: true, clientOptions, installerOptions: { port: 0 }, logLevel: "error" });
console.log("App clientOptions after construction:", JSON.stringify((app as any).clientOptions.retryConfig), (app as any).clientOptions === clientOptions);
console.log("socket client slackApiUrl:", (app as any).receiver.client.webClient.slackApiUrl);

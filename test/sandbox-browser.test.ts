// The sandbox's page in headless Chromium, used as a person would: the requester types
// /access, approvers switch in and click Approve until it is granted, the requester sees the
// DM, and the ledger verifies. UPDATE_SCREENSHOTS=1 writes the README's screenshots to docs/.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { pino } from "pino";
import { startSandbox, type Sandbox } from "../src/sandbox/start-sandbox.js";

const CHROMIUM = "/usr/bin/chromium";
const DOCS = fileURLToPath(new URL("../docs/", import.meta.url));
const haveChromium = fs.existsSync(CHROMIUM);

/** The page's document, typed just enough for the functions that run in the browser (this file has Node's types, not the DOM's). */
interface PageNode {
  textContent: string | null;
  querySelector(selector: string): unknown;
}
/** What functions run in the page see as `globalThis` (they are serialised, so they cannot call helpers from this file). */
interface PageGlobal {
  document: { querySelectorAll(selector: string): Iterable<PageNode> };
}
// In CI a missing browser is a failure (.ci/run installs it), never a silent skip.
const skip = !haveChromium && process.env.CI !== "true" ? `no Chromium at ${CHROMIUM} (apt-get install chromium; CI installs it)` : false;

describe("the sandbox in a browser", { skip }, () => {
  let sandbox: Sandbox;
  let browser: Browser;
  let page: Page;
  const shots = process.env.UPDATE_SCREENSHOTS === "1" ? DOCS : fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-shots-"));

  before(async () => {
    assert.ok(haveChromium, `Chromium is missing at ${CHROMIUM}: .ci/run installs it (apt-get install -y chromium)`);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "accessbot-sandbox-browser-"));
    sandbox = await startSandbox({ env: { PORT: "0" }, dataDir, log: pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }) });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-background-networking"] });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    page.on("pageerror", (error) => assert.fail(`the page threw: ${error.message}`));
  });
  after(async () => {
    await browser?.close();
    await sandbox?.stop();
  });

  const actAs = async (realName: string) => {
    const option = page.locator("#person option", { hasText: realName });
    await page.selectOption("#person", (await option.getAttribute("value"))!);
  };
  const ledgerCount = (type: string) => page.locator(`#ledger .ledger-entry .ledger-type`, { hasText: new RegExp(`^${type.replace(".", "\\.")}$`) }).count();
  const waitForLedger = async (type: string, count: number) => {
    await page.waitForFunction(
      ([wanted, n]) => [...(globalThis as unknown as PageGlobal).document.querySelectorAll("#ledger .ledger-type")].filter((node) => node.textContent === wanted).length >= Number(n),
      [type, String(count)] as const,
      { timeout: 15_000 },
    );
  };

  test("request as the requester, approve as approvers, see the DM and the ledger verify", async () => {
    await page.goto(sandbox.url);
    await page.getByText("SANDBOX", { exact: true }).waitFor();
    assert.match(await page.title(), /sandbox/i);

    await actAs("Ada Lovelace");
    await page.click('[data-conversation="approval"]');
    await page.fill("#composer-input", "/access prod-db 2h fixing INC-4411");
    await page.press("#composer-input", "Enter");
    const ephemeral = page.locator(".message.ephemeral", { hasText: /AR-[0-9A-Z]{8}/ });
    await ephemeral.waitFor({ timeout: 15_000 });
    const requestId = /AR-[0-9A-Z]{8}/.exec((await ephemeral.textContent()) ?? "")![0];
    const request = page.locator(".message", { hasText: requestId }).filter({ has: page.locator('button[data-action-id="access_approve"]') });
    await request.waitFor();
    // Mentions are names, not ids; Slack's date markup is a date.
    const requestText = (await request.textContent()) ?? "";
    assert.match(requestText, /Ada Lovelace/);
    assert.doesNotMatch(requestText, /<@U0|<!date/);

    // The requester cannot approve their own request: the bot says so, only to them.
    await request.locator('button[data-action-id="access_approve"]').click();
    await page.locator(".message.ephemeral", { hasText: /own request|cannot approve|can't approve/i }).waitFor({ timeout: 15_000 });
    assert.equal(await ledgerCount("vote.approved"), 0);

    const approvers = ["Grace Hopper", "Ken Thompson", "Radia Perlman"];
    for (const [index, approver] of approvers.entries()) {
      await actAs(approver);
      await page.click('[data-conversation="approval"]');
      await request.locator('button[data-action-id="access_approve"]').click();
      await waitForLedger("vote.approved", index + 1);
      if (index === 0) {
        await page.waitForTimeout(300);
        await page.screenshot({ path: path.join(shots, "sandbox-approval.png") });
      }
    }
    await waitForLedger("grant.activated", 1);

    // The approval message no longer offers Approve once granted.
    await page.waitForFunction((id) => [...(globalThis as unknown as PageGlobal).document.querySelectorAll(".message")].some((node) => node.textContent?.includes(id) && !node.querySelector('button[data-action-id="access_approve"]')), requestId, { timeout: 15_000 });

    await actAs("Ada Lovelace");
    await page.click('[data-conversation="dm"]');
    await page.locator(".message", { hasText: /is active until/ }).waitFor({ timeout: 15_000 });
    const wouldHave = page.locator(".would-have", { hasText: 'would have GRANT "prod_rw" TO "ada"' });
    await wouldHave.waitFor();

    await page.click("#verify");
    await page.locator("#audit-output", { hasText: /Ledger intact: \d+ entries/ }).waitFor();
    assert.ok(await page.locator("#audit-output.ok").isVisible());
    await page.waitForTimeout(200);
    await page.screenshot({ path: path.join(shots, "sandbox-granted.png") });

    // audit show from the ledger's request id.
    await page.locator(".ledger-id", { hasText: requestId }).first().click();
    await page.locator("#audit-output", { hasText: new RegExp(`${requestId}[\\s\\S]*grant\\.provisioned`) }).waitFor();
  });

  test("a modal opened by /access works, and typed text stays text", async () => {
    await actAs("Linus Torvalds");
    await page.click('[data-conversation="dm"]');
    await page.fill("#composer-input", "/access");
    await page.press("#composer-input", "Enter");
    const modal = page.locator(".modal");
    await modal.waitFor({ timeout: 15_000 });
    await modal.locator("select.bk-control").selectOption("staging-admin");
    await modal.locator('input.bk-control[data-action-id="duration"]').fill("1h");
    await modal.locator('textarea.bk-control[data-action-id="reason"]').fill("<img src=x onerror=window.__pwned=1> *not bold*");
    await modal.locator('button[type="submit"]').click();
    await modal.waitFor({ state: "detached", timeout: 15_000 });
    await page.click('[data-conversation="approval"]');
    const posted = page.locator(".message", { hasText: "<img src=x onerror=window.__pwned=1>" });
    await posted.waitFor({ timeout: 15_000 });
    assert.equal(await posted.locator("img").count(), 0, "the reason is shown as text, not markup");
    assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined);
  });
});

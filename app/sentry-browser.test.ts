// Browser errors: a page whose loader fails renders an error boundary (the portal's or the
// root's, both report); once hydrated, the browser SDK (loaded only because the root loader gave
// a DSN) reports it to the local envelope receiver exactly once, without the page's query
// string. Debian's Chromium; no request leaves the machine.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "@playwright/test";
import postgres from "postgres";
import { startApp, type TestApp } from "../test/app";
import { launchChromium } from "../test/chromium";
import { createTestDatabase } from "../test/db";
import { type SentryReceiver, startSentryReceiver } from "../test/sentry-receiver";

let receiver: SentryReceiver;
let app: TestApp;
let own: Awaited<ReturnType<typeof createTestDatabase>>;
let browser: Browser;

beforeAll(async () => {
  receiver = startSentryReceiver();
  own = await createTestDatabase("sentrybrowser");
  app = await startApp({ DATABASE_URL: own.url, SENTRY_DSN: receiver.dsn, SENTRY_RELEASE: "metered@9.9.9" });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  receiver?.stop();
  await own?.drop();
});

describe("browser errors", () => {
  test("a page error caught by an error boundary reaches Sentry once, from the browser, with no query string", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const outside: string[] = [];
    await page.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === "127.0.0.1") return route.continue();
      outside.push(url.origin);
      return route.abort();
    });
    await page.goto(`${app.url}/dev/sign-in`);
    await page.getByLabel(/^email/i).fill("browser-owner@example.com");
    await page.getByLabel(/^organisation id/i).fill("org_browsersentry");
    await page.getByRole("button", { name: /sign in/i }).click();
    await page.waitForURL(/dashboard|billing/);

    const db = postgres(own.url, { max: 1, onnotice: () => {} });
    await db`alter table subscriptions rename to subscriptions_gone`;
    await db.end();

    await page.goto(`${app.url}/dashboard?email=leaky@example.com`);
    await page.getByRole("heading", { name: /something went wrong|500/i }).waitFor();
    const fromBrowser = () => receiver.events().filter((e) => e.platform === "javascript");
    const deadline = Date.now() + 15_000;
    while (fromBrowser().length === 0 && Date.now() < deadline) await Bun.sleep(100);
    await Bun.sleep(1500); // a second report of the same error would arrive by now
    expect(fromBrowser()).toHaveLength(1);
    expect(fromBrowser()[0].release).toBe("metered@9.9.9");
    const sent = JSON.stringify(fromBrowser());
    expect(sent).not.toContain("leaky@example.com");
    expect(sent).not.toContain("email=");
    expect(sent).not.toContain("browser-owner@example.com");
    expect(outside).toEqual([]);
    await context.close();
  }, 60_000);
});

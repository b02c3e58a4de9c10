// A browser journey in Clerk mode on the real @clerk/remix path: Clerk's cookies carry a token
// minted here (local key pair), the server verifies it without network, and ClerkJS is stubbed
// (window.Clerk) so no request leaves the machine. Debian's Chromium.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "@playwright/test";
import { startApp, type TestApp } from "../test/app";
import { launchChromium } from "../test/chromium";
import { localClerk } from "../test/clerk";
import { freePort } from "../test/ports";

const clerk = localClerk();
const orgId = `org_cb${Date.now().toString(36)}`;
let app: TestApp;
let origin: string;
let browser: Browser;
const token = (claims: Record<string, unknown>) => clerk.token({ sid: "sess_b", azp: origin, ...claims });

beforeAll(async () => {
  const port = freePort(); // the app must know its own origin before it starts
  origin = `http://127.0.0.1:${port}`;
  app = await startApp(clerk.env(origin));
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

async function signedInPage(role: string): Promise<{ page: Page; outside: string[]; errors: string[] }> {
  const context = await browser.newContext();
  await context.addCookies([
    { name: "__session", value: token({ sub: `user_${role}`, org_id: orgId, org_role: `org:${role}` }), url: origin },
    { name: "__client_uat", value: String(Math.floor(Date.now() / 1000) - 60), url: origin },
  ]);
  // ClerkJS stands in: loaded never, so nothing is fetched from Clerk's frontend API.
  await context.addInitScript(() => {
    (window as unknown as { Clerk: unknown }).Clerk = { loaded: false, load: async () => {} };
  });
  const page = await context.newPage();
  const outside: string[] = [];
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.origin === origin) return route.continue();
    outside.push(url.origin);
    return route.abort();
  });
  return { page, outside, errors };
}

describe("Clerk mode in the browser", () => {
  test("an org admin's page loads signed in, hydrates, and navigates, with no request leaving the machine", async () => {
    const { page, outside, errors } = await signedInPage("admin");
    await page.goto(`${origin}/dashboard`);
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    await page.getByRole("link", { name: "API keys" }).click();
    await page.getByRole("heading", { name: /API keys/i }).waitFor();
    expect(page.url()).toBe(`${origin}/keys`);
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  }, 60_000);

  test("a member sees the dashboard without Billing or API keys, and a 403 page on /billing", async () => {
    const { page, outside } = await signedInPage("member");
    await page.goto(`${origin}/dashboard`);
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    expect(await page.getByRole("link", { name: "Billing" }).count()).toBe(0);
    expect(await page.getByRole("link", { name: "Invoices" }).count()).toBe(1);
    const r = await page.goto(`${origin}/billing`);
    expect(r?.status()).toBe(403);
    expect(outside).toEqual([]);
  }, 60_000);
});

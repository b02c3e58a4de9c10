// The portal's end states and first run (issue 25), in a real browser: from the home page to a
// trial, the Checkout confirmation and the first-run checklist ticking itself; a plan set to
// cancel in the Stripe portal and kept; a canceled plan offered again; the webhooks and settings
// pages; titles, one h1, the skip link, focus after navigation, the phone menu by keyboard.
// Screenshots in e2e/artifacts/end-*.png.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect, type Page, test } from "@playwright/test";
import postgres from "postgres";
import Stripe from "stripe";
import { createKey, hydrated, PHONE, settle, shot, signIn, startTrial } from "./portal";

const run = Date.now().toString(36);
const stripe = () => new Stripe("sk_test_e2e", { host: "127.0.0.1", port: Number(process.env.E2E_STRIPE_PORT), protocol: "http" });

async function subscriptionOf(orgId: string) {
  const db = postgres(process.env.E2E_DATABASE_URL!, { max: 1, onnotice: () => {} });
  try {
    const [row] = await db`select stripe_subscription_id as id, status, cancel_at_period_end from subscriptions where org_id = ${orgId}`;
    return row as { id: string; status: string; cancel_at_period_end: boolean };
  } finally {
    await db.end();
  }
}

async function onePageHeading(page: Page, title: string) {
  await expect(page).toHaveTitle(`${title} — Metered`);
  await expect(page.locator("h1")).toHaveCount(1);
  await expect(page.locator("h1")).toHaveText(title);
}

test("from the home page to a trial, a confirmation, and a checklist that ticks itself", async ({ page, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.goto("/");
  await expect(page.getByRole("link", { name: "Sign in" }).first()).toBeVisible();
  const start = page.getByRole("link", { name: /Start your \d+-day free trial/ });
  await shot(page, "end-01-home");
  await start.click();
  await page.getByLabel("Email").fill("first@e2e.test");
  await page.getByLabel("Organisation id").fill(`org_first${run}`);
  await page.getByLabel("Organisation name").fill("First Run Inc");
  await expect(async () => {
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/billing$/, { timeout: 2000 });
  }).toPass({ timeout: 20_000 });
  await hydrated(page);
  await page.getByRole("button", { name: "Start free trial" }).click();
  await page.getByLabel("Card number").fill("4242 4242 4242 4242");
  await page.getByRole("button", { name: "Start trial" }).click();
  await expect(page).toHaveURL(/\/dashboard\?checkout=success/);
  await expect(page.getByTestId("checkout-confirmed")).toContainText("Your free trial has started", { timeout: 15_000 });
  const checklist = page.getByTestId("first-run");
  await expect(checklist).toContainText("0 of 3 done");
  const origin = new URL(page.url()).origin;
  await expect(page.getByTestId("first-call")).toContainText(`curl -s -X POST "${origin}/api/v1/usage"`);
  await shot(page, "end-02-confirmation-checklist");

  const key = await createKey(page, "first server");
  await page.getByRole("link", { name: "Dashboard" }).click();
  // Focus moved to the new page's heading after the client navigation.
  await expect(page.locator("h1")).toBeFocused();
  await expect(checklist).toContainText("1 of 3 done");
  await hydrated(page);
  await page.getByRole("button", { name: "Copy curl command" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Copied to the clipboard." })).toBeAttached();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toContain(`${origin}/api/v1/usage`);
  // The copied call, made as the curl makes it: the list ticks itself, then goes.
  const answer = await page.request.post(`${origin}/api/v1/usage`, {
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    data: { request_id: "first-call-1", quantity: 1 },
  });
  expect(answer.status()).toBe(200);
  await expect(checklist).toHaveCount(0, { timeout: 30_000 });
  await expect(page.getByTestId("usage-used-api_call")).toHaveText("1");
  await shot(page, "end-03-checklist-done");

  for (const [path, title] of [
    ["/dashboard", "Dashboard"],
    ["/billing", "Billing"],
    ["/invoices", "Invoices"],
    ["/webhooks", "Webhooks"],
    ["/settings", "Settings"],
  ] as const) {
    await page.goto(path);
    await onePageHeading(page, title);
  }
  // The skip link is the first Tab stop and leads to the page's content.
  await page.goto("/invoices");
  await hydrated(page);
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await shot(page, "end-04-skip-link");
  await page.keyboard.press("Enter");
  await expect(page.locator("#main")).toBeFocused();
});

test("set to cancel in the Stripe portal, then Keep my plan; canceled, then Resubscribe", async ({ page }) => {
  const orgId = `org_end${run}`;
  await signIn(page, "ending@e2e.test", orgId);
  await startTrial(page);
  await page.goto("/billing");
  await hydrated(page);
  await page.getByRole("button", { name: "Payment method & invoices in Stripe" }).click();
  await page.getByRole("button", { name: "Cancel plan" }).click();
  await expect(page.getByText("Your plan will be canceled at the end of the period.")).toBeVisible();
  await page.getByRole("link", { name: "← Return" }).click();
  const ending = page.getByTestId("subscription-canceling");
  await expect(async () => {
    await page.reload();
    await expect(ending).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await expect(ending).toContainText("you will not be charged again");
  await shot(page, "end-05-set-to-cancel");
  await page.goto("/dashboard");
  await expect(page.getByText("set to cancel, not renewing")).toBeVisible();
  await expect(page.getByText("(set to cancel)")).toHaveCount(0);

  await page.goto("/billing");
  await hydrated(page);
  await page.getByRole("button", { name: "Keep my plan" }).click();
  // The button is gone with the change: focus is on the outcome, which says what happened.
  await expect(page.locator(":focus")).toContainText("Your plan is no longer set to cancel");
  await expect(ending).toHaveCount(0);
  expect((await subscriptionOf(orgId)).cancel_at_period_end).toBe(false);
  await shot(page, "end-06-kept");

  await stripe().subscriptions.cancel((await subscriptionOf(orgId)).id);
  const ended = page.getByTestId("subscription-ended");
  await expect(async () => {
    await page.reload();
    await expect(ended).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await expect(page.getByText("canceled", { exact: true })).toBeVisible();
  await shot(page, "end-07-canceled");
  await hydrated(page);
  await ended.getByRole("button", { name: /^Resubscribe to / }).click();
  await expect(page.getByLabel("Card number")).toBeVisible({ timeout: 10_000 }); // Stripe's Checkout page
});

test("webhooks: plain messages, Copy, a reset form, the request body, Delete confirmed; settings: zones and sentences", async ({ page, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const receiver = createServer((_req, res) => res.writeHead(204).end());
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  try {
    await signIn(page, "hooks@e2e.test", `org_hooks${run}`);
    await page.goto("/webhooks");
    await hydrated(page);
    await page.getByLabel("Endpoint URL").fill(url);
    await page.getByRole("button", { name: "Add endpoint" }).click();
    await expect(page.locator(":focus")).toHaveText("Pick at least one event to send.");
    await page.getByLabel("Endpoint URL").fill(url);
    await page.getByRole("checkbox", { name: "usage.threshold_reached" }).check();
    await page.getByRole("button", { name: "Add endpoint" }).click();
    await expect(page.getByTestId("signing-secret")).toBeVisible();
    await expect(page.getByLabel("Endpoint URL")).toHaveValue("");
    await expect(page.getByRole("checkbox", { name: "usage.threshold_reached" })).not.toBeChecked();
    await page.getByRole("button", { name: "Copy signing secret" }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe((await page.getByTestId("signing-secret").textContent())!.trim());
    await shot(page, "end-08-webhook-added");

    await page.getByRole("button", { name: `Send a test event to ${url}` }).click();
    await expect(page.getByTestId("deliveries")).toBeVisible();
    await page.getByTestId("deliveries").getByText("Request body").first().click();
    await expect(page.getByTestId("delivery-payload").first()).toContainText('"type": "webhook.test"');
    await shot(page, "end-09-webhook-payload");

    await page.getByRole("button", { name: `Delete ${url}` }).click();
    const dialog = page.getByRole("dialog", { name: "Delete this endpoint?" });
    await expect(dialog).toBeVisible();
    await settle(page);
    await shot(page, "end-10-webhook-delete");
    await dialog.getByRole("button", { name: "Delete endpoint" }).click();
    await expect(page.locator(":focus")).toHaveText("Endpoint deleted.");

    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByRole("textbox", { name: "Time zone" }).fill("+05:30");
    await page.getByRole("option", { name: "(UTC+05:30) Asia/Kolkata" }).click();
    await page.getByRole("button", { name: "Save settings" }).click();
    await expect(page.getByText("Settings saved.")).toBeVisible();
    const audit = page.getByTestId("audit-log");
    await expect(audit.getByText("Changed settings: time zone from UTC to Asia/Kolkata").first()).toBeVisible();
    await expect(audit.getByText(`Deleted webhook endpoint ${url}`).first()).toBeVisible();
    await shot(page, "end-11-settings");
  } finally {
    receiver.close();
  }
});

test("the phone menu traps Tab and closes on Escape, focus back on its button", async ({ page }) => {
  await page.setViewportSize(PHONE);
  await signIn(page, "menu@e2e.test", `org_menu${run}`);
  await hydrated(page);
  const burger = page.getByRole("button", { name: "Open the menu" });
  await burger.click();
  const menu = page.locator("#portal-menu");
  const focusInMenu = () => menu.evaluate((m) => m.contains(document.activeElement));
  // Opening moves focus into the menu once it is shown: a Tab pressed before then starts outside it.
  await expect.poll(focusInMenu).toBe(true);
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Tab");
    expect(await focusInMenu()).toBe(true);
  }
  await page.keyboard.press("Escape");
  await expect(page.getByRole("button", { name: "Open the menu" })).toBeFocused();
  await expect(page.getByRole("button", { name: "Open the menu" })).toHaveAttribute("aria-expanded", "false");
});

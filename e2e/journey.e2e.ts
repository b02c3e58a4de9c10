// The customer's journey and the operator's, in a real browser: sign in, trial through the
// local Stripe Checkout page, API key, usage moving the meter to the 80% and 100% warnings,
// upgrade after a preview, downgrade scheduled and canceled, invoices; a failed payment at the
// trial's end fixed with a new card; then an admin replays a failed job. Screenshots of each
// main page go to e2e/artifacts/.
import { expect, test } from "@playwright/test";
import postgres from "postgres";
import Stripe from "stripe";
import { hydrated, shot, signIn } from "./portal";

const orgId = `org_e2e${Date.now().toString(36)}`;

test("a customer starts a trial, uses the API, upgrades, schedules and cancels a downgrade, sees invoices", async ({ page }) => {
  await page.goto("/dev/sign-in");
  await shot(page, "01-sign-in");
  await signIn(page, "owner@e2e.test", orgId);
  await expect(page.getByText("No plan yet")).toBeVisible();
  await shot(page, "02-dashboard-empty");

  // Trial through Checkout on the local Stripe page.
  await page.getByRole("link", { name: "Choose a plan" }).click();
  await expect(page.getByRole("heading", { name: "Billing" })).toBeVisible();
  await shot(page, "03-billing-no-plan");
  await page.getByRole("button", { name: "Start free trial" }).click();
  await expect(page.getByRole("button", { name: "Start trial" })).toBeVisible();
  await shot(page, "04-stripe-checkout");
  await page.getByLabel("Card number").fill("4242 4242 4242 4242");
  await page.getByRole("button", { name: "Start trial" }).click();
  await expect(page).toHaveURL(/\/dashboard\?checkout=success/);
  await expect(page.getByText("trialing")).toBeVisible({ timeout: 15_000 });
  await expect(page.getByText(/days left/)).toBeVisible();

  // An API key, shown once.
  await page.getByRole("link", { name: "API keys" }).click();
  await page.getByLabel("New key name").fill("e2e server");
  await page.getByRole("button", { name: "Create key" }).click();
  const key = (await page.getByTestId("new-key").textContent())!.trim();
  expect(key).toMatch(/^mk_test_[A-Za-z0-9]{32}$/);
  await shot(page, "05-keys-created");

  // Use the API with it: the meter moves, then the 80% and 100% warnings.
  const record = (id: string, quantity: number) =>
    page.request.post("/api/v1/usage", { headers: { authorization: `Bearer ${key}` }, data: { request_id: id, quantity } });
  expect((await record("e2e-1", 120)).status()).toBe(200);
  await page.getByRole("link", { name: "Dashboard" }).click();
  await expect(page.getByTestId("usage-used-api_call")).toHaveText("120");
  // 12% on the first day of a 14-day trial: at this rate it runs out before the renewal, and the alert says so.
  await expect(page.getByText(/on track to run out on/)).toBeVisible();
  await expect(page.locator(".recharts-surface").first()).toBeVisible();
  // The period's history as CSV, per day and key, with the portal session.
  const csv = await page.request.get((await page.getByTestId("history-csv").getAttribute("href"))!);
  expect(csv.headers()["content-type"]).toBe("text/csv; charset=utf-8");
  const lines = (await csv.text()).trimEnd().split("\r\n");
  expect(lines[0]).toBe("metric,keyId,start,quantity");
  expect(lines.slice(1).reduce((n, line) => n + Number(line.split(",")[3]), 0)).toBe(120);
  await shot(page, "06-dashboard-usage");
  expect((await record("e2e-2", 700)).status()).toBe(200);
  await page.reload();
  await expect(page.getByText("82% of your quota used")).toBeVisible();
  await shot(page, "07-dashboard-80");
  expect((await record("e2e-3", 180)).status()).toBe(200);
  expect((await record("e2e-4", 1)).status()).toBe(429);
  await page.reload();
  await expect(page.getByText("Quota reached")).toBeVisible();
  await shot(page, "08-dashboard-100");

  // Upgrade after seeing the previewed cost.
  await page.getByRole("link", { name: "Billing" }).first().click();
  // The plan cards list the catalog's features; the switch shows yearly prices and their saving.
  const growthCard = page.locator('[aria-label="Growth plan"]');
  await expect(growthCard.getByRole("definition").nth(1)).toHaveText("25,000,000 tokens a month");
  await page.getByText("Yearly", { exact: true }).click();
  await expect(page.getByTestId("price-growth")).toHaveText("$990.00 / year");
  await expect(page.getByTestId("saving-growth")).toHaveText("2 months free — save $198");
  await shot(page, "09-billing-yearly");
  await page.getByText("Monthly", { exact: true }).click();
  await expect(page.getByTestId("price-growth")).toHaveText("$99.00 / month");
  await page.getByRole("button", { name: "Change to Growth" }).click();
  await expect(page.getByRole("dialog")).toBeVisible();
  await expect(page.getByTestId("amount-due")).toHaveText("$99.00");
  await expect(page.getByTestId("feature-changes")).toContainText("Tokens: 100,000 → 25,000,000");
  await page.getByRole("dialog").evaluate((el) => Promise.all(el.getAnimations({ subtree: true }).map((a) => a.finished)));
  await page.waitForTimeout(300); // the modal's fade-in
  await shot(page, "09-upgrade-preview");
  await page.getByRole("button", { name: /Pay \$99\.00 and upgrade/ }).click();
  await expect(page.getByText("Upgraded: your new quota applies now.")).toBeVisible();
  expect((await record("e2e-4", 1)).status()).toBe(200); // the same request_id, no longer over quota

  // Schedule a downgrade, see it pending, cancel it.
  await page.getByRole("button", { name: "Change to Starter" }).click();
  await expect(page.getByText("Nothing is charged now.")).toBeVisible();
  await page.getByRole("button", { name: "Schedule downgrade" }).click();
  await expect(page.getByText("Downgrade scheduled", { exact: true })).toBeVisible();
  await shot(page, "10-billing-downgrade-pending");
  await page.getByRole("button", { name: "Keep my current plan" }).click();
  await expect(page.getByText("Scheduled downgrade canceled")).toBeVisible();

  // Invoices, with links.
  await page.getByRole("link", { name: "Invoices" }).click();
  await expect(page.getByRole("link", { name: "View" }).first()).toBeVisible({ timeout: 10_000 });
  await expect(page.getByRole("cell", { name: "$99.00" })).toBeVisible();
  await shot(page, "11-invoices");
  await page.getByRole("link", { name: "Dashboard" }).click();
  await expect(page.getByText("growth", { exact: true })).toBeVisible();
  await shot(page, "12-dashboard-growth");
  // The same page on a phone.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(page.getByTestId("usage-used-api_call")).toBeVisible();
  await shot(page, "15-dashboard-mobile");
  await page.getByRole("button", { name: "Open the menu" }).click();
  await page.getByRole("link", { name: "Billing" }).first().click();
  await expect(page.getByRole("heading", { name: "Billing" })).toBeVisible();
  await shot(page, "16-billing-mobile");
});

test("an admin sees a failed job and replays it after the fault is fixed", async ({ page }) => {
  // A Stripe customer no org knows: its webhook jobs fail until they end in the dead-letter queue.
  const stripe = new Stripe("sk_test_e2e", { host: "127.0.0.1", port: Number(process.env.E2E_STRIPE_PORT), protocol: "http" });
  const customer = await stripe.customers.create({ email: "orphan@e2e.test" });
  const db = postgres(process.env.E2E_DATABASE_URL!, { max: 1 });
  const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
  // The starter plan's price (created by the app on first use, or here under the same lookup key).
  const price =
    (await stripe.prices.list({ lookup_keys: ["metered_plan_starter"] })).data[0] ??
    (await stripe.prices.create({
      currency: "usd",
      unit_amount: 2900,
      recurring: { interval: "month" },
      lookup_key: "metered_plan_starter",
      product_data: { name: "Metered Starter" },
    }));
  await stripe.subscriptions.create({ billing_mode: { type: "classic" }, customer: customer.id, items: [{ price: price.id }], default_payment_method: pm.id });
  await expect(async () => {
    const [row] =
      await db`select count(*)::int as n from graphile_worker.jobs j join stripe_events e on e.id = j.key where e.customer_id = ${customer.id} and j.attempts >= j.max_attempts`;
    expect(row.n).toBeGreaterThan(0);
  }).toPass({ timeout: 30_000 });

  await signIn(page, "admin@e2e.test", `org_admin${Date.now().toString(36)}`);
  await page.getByRole("link", { name: "Admin" }).click();
  await expect(page.getByRole("heading", { name: "Operations" })).toBeVisible();
  await expect(page.getByText(/no organisation for Stripe customer/).first()).toBeVisible();
  await shot(page, "13-admin-failed-job");

  // The fix: the customer belongs to an org. Then replay every failed job from the page.
  await db`insert into organisations (id, name, stripe_customer_id) values (${`org_fix${Date.now().toString(36)}`}, 'Fixed', ${customer.id})`;
  // Replay what is in the dead-letter queue until none of this customer's jobs is left: some of
  // its events may still be in their retries now and reach the queue only later.
  await expect(async () => {
    await page.goto("/admin");
    // A click before React hydrates the page can be lost (seen: every click of a minute lost).
    await hydrated(page);
    const replay = page.getByRole("button", { name: /Replay job/ });
    if ((await replay.count()) > 0) {
      await replay.first().click();
      await expect(page.getByText(/queued again/)).toBeVisible();
    }
    const [left] = await db`select count(*)::int as n from graphile_worker.jobs j join stripe_events e on e.id = j.key where e.customer_id = ${customer.id}`;
    expect(left.n).toBe(0);
  }).toPass({ timeout: 60_000 });
  await page.reload();
  await expect(page.getByText("No failed jobs.")).toBeVisible();
  await shot(page, "14-admin-replayed");
  await db.end();
});

test("a trial on a card that fails charges: at the trial's end the payment fails, the portal asks for a new card, the new card pays", async ({ page }) => {
  const org = `org_pd${Date.now().toString(36)}`;
  await signIn(page, "late@e2e.test", org);
  await page.getByRole("link", { name: "Choose a plan" }).click();
  await page.getByRole("button", { name: "Start free trial" }).click();
  await page.getByLabel("Card number").fill("4000 0000 0000 0341"); // attaches, then fails every charge
  await page.getByRole("button", { name: "Start trial" }).click();
  await expect(page.getByText("trialing")).toBeVisible({ timeout: 15_000 });

  // The trial ends on Stripe's test clock: the renewal invoice is finalized an hour later and fails.
  const stripe = new Stripe("sk_test_e2e", { host: "127.0.0.1", port: Number(process.env.E2E_STRIPE_PORT), protocol: "http" });
  const db = postgres(process.env.E2E_DATABASE_URL!, { max: 1 });
  const [{ clock }] = await db`select stripe_test_clock_id as clock from organisations where id = ${org}`;
  const { frozen_time } = await stripe.testHelpers.testClocks.retrieve(clock);
  await stripe.testHelpers.testClocks.advance(clock, { frozen_time: frozen_time + 15 * 86_400 });
  // Past due, and the failed invoice mirrored (its own webhook may converge a moment later).
  await expect(async () => {
    const [row] = await db`select status from subscriptions where org_id = ${org}`;
    expect(row.status).toBe("past_due");
    const [open] = await db`select count(*)::int as n from invoices where org_id = ${org} and status = 'open'`;
    expect(open.n).toBeGreaterThan(0);
  }).toPass({ timeout: 20_000 });
  await page.reload();
  await expect(page.getByText("Your last payment failed — update your card")).toBeVisible();
  const banner = page.getByTestId("payment-due");
  await expect(banner).toHaveCount(1);
  await expect(banner).toContainText(/\$\d+\.\d\d is unpaid since .* API calls continue until/);
  await expect(page.getByText("past due", { exact: true })).toBeVisible(); // the red status badge
  await shot(page, "17-dashboard-past-due");

  // A new card in Stripe's billing portal pays the open invoice; the subscription is active again.
  await page.getByRole("button", { name: "Update card and pay" }).click();
  await page.getByLabel("New card number").fill("4242 4242 4242 4242");
  await page.getByRole("button", { name: "Update card" }).click();
  await expect(page.getByText("Your card was updated.")).toBeVisible();
  await expect(async () => {
    const [row] = await db`select status from subscriptions where org_id = ${org}`;
    expect(row.status).toBe("active");
  }).toPass({ timeout: 20_000 });
  await page.getByRole("link", { name: "← Return" }).click();
  await expect(page.getByRole("heading", { name: "Billing" })).toBeVisible();
  await expect(page.getByText("Your last payment failed")).toHaveCount(0);
  await db.end();
});

test("a non-admin gets no /admin", async ({ page }) => {
  await signIn(page, "someone@e2e.test", `org_na${Date.now().toString(36)}`);
  const response = await page.goto("/admin");
  expect(response!.status()).toBe(404);
});

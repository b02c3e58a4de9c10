// Every portal page, in each state a customer meets, at 1280 and 390 px: zero axe violations
// of WCAG 2.1 A/AA. Screenshots go to e2e/artifacts/a11y-*.png.
import { expect, test } from "@playwright/test";
import postgres from "postgres";
import { createKey, expectAccessible, hydrated, recordUsage, signIn, startTrial } from "./portal";

const run = Date.now().toString(36);

test("signed out and sign-in pages have no WCAG 2.1 AA violations", async ({ page }) => {
  await page.goto("/");
  await expectAccessible(page, "home");
  await page.goto("/dev/sign-in");
  await expectAccessible(page, "sign-in");
});

test("a customer's pages have no WCAG 2.1 AA violations, from the empty dashboard to a pending downgrade", async ({ page }) => {
  await signIn(page, "a11y@e2e.test", `org_a11y${run}`);
  await expect(page.getByText("No plan yet")).toBeVisible();
  await expectAccessible(page, "dashboard-empty");
  await page.goto("/billing");
  await expectAccessible(page, "billing-no-plan");
  await page.goto("/invoices");
  await expectAccessible(page, "invoices-empty");

  await startTrial(page);
  await expectAccessible(page, "dashboard-trial");
  const key = await createKey(page, "a11y server");
  await expectAccessible(page, "keys-created");

  expect((await recordUsage(page, key, "a11y-1", 120)).status()).toBe(200);
  await page.goto("/dashboard");
  await expect(page.getByTestId("usage-used-api_call")).toHaveText("120");
  await expect(page.locator(".recharts-surface").first()).toBeVisible();
  await expectAccessible(page, "dashboard-in-use");
  expect((await recordUsage(page, key, "a11y-2", 730)).status()).toBe(200);
  await page.reload();
  await expect(page.getByText("85% of your quota used")).toBeVisible();
  await expectAccessible(page, "dashboard-85");
  expect((await recordUsage(page, key, "a11y-3", 150)).status()).toBe(200);
  await page.reload();
  await expect(page.getByText("Quota reached")).toBeVisible();
  await expectAccessible(page, "dashboard-100");

  await page.goto("/billing");
  await hydrated(page);
  await expect(page.getByText("Free trial")).toHaveCount(0); // a customer with a plan is not offered the trial
  await page.getByText("Yearly", { exact: true }).click();
  await expect(page.getByTestId("saving-growth")).toBeVisible();
  await expectAccessible(page, "billing-yearly");
  await page.getByText("Monthly", { exact: true }).click();
  await page.getByRole("button", { name: "Change to Growth" }).click();
  await expect(page.getByRole("dialog")).toBeVisible();
  await expect(page.getByTestId("feature-changes")).toContainText("Seats: 1 → 10");
  await expectAccessible(page, "billing-upgrade-preview");
  await page.getByRole("button", { name: /Pay .* and upgrade/ }).click();
  await expect(page.getByText("Upgraded: your new quota applies now.")).toBeVisible();
  await page.getByRole("button", { name: "Change to Starter" }).click();
  await page.getByRole("button", { name: "Schedule downgrade" }).click();
  await expect(page.getByText("Downgrade scheduled", { exact: true })).toBeVisible();
  await expectAccessible(page, "billing-downgrade-pending");

  await page.goto("/invoices");
  await expect(page.getByRole("link", { name: /View invoice/ }).first()).toBeVisible({ timeout: 10_000 });
  await expectAccessible(page, "invoices");
  await page.goto("/keys");
  await expectAccessible(page, "keys");
  // The settings (with the audit log of the changes above) and the webhooks page.
  await page.goto("/settings");
  await expect(page.getByRole("heading", { name: "Audit log" })).toBeVisible();
  await expectAccessible(page, "settings");
  await page.goto("/webhooks");
  await expectAccessible(page, "webhooks");
});

test("the end states have no WCAG 2.1 AA violations: first run, past due, set to cancel, canceled", async ({ page }) => {
  const orgId = `org_a11yend${run}`;
  await signIn(page, "a11y-end@e2e.test", orgId);
  await startTrial(page);
  await expect(page.getByTestId("first-run")).toBeVisible();
  await expect(page.getByTestId("checkout-confirmed")).toBeVisible();
  await expectAccessible(page, "dashboard-first-run");
  // The mirror put in each state directly (a fixture: the journeys reach them through Stripe).
  const db = postgres(process.env.E2E_DATABASE_URL!, { max: 1, onnotice: () => {} });
  try {
    await db`update subscriptions set status = 'past_due' where org_id = ${orgId}`;
    await db`insert into invoices (id, org_id, number, status, currency, amount_due, amount_paid, total, hosted_invoice_url, stripe_created_at)
             values (${`in_a11y${run}`}, ${orgId}, 'A11Y-0001', 'open', 'usd', 2900, 0, 2900, 'http://127.0.0.1:9/invoice', now())`;
    await page.goto("/invoices");
    await expect(page.getByTestId("payment-due")).toContainText("$29.00 is unpaid since");
    await expect(page.getByRole("link", { name: /^Pay \$29\.00 for invoice/ })).toBeVisible();
    await expectAccessible(page, "invoices-past-due");
    await page.goto("/billing");
    await expect(page.getByText("past due", { exact: true })).toBeVisible();
    await expectAccessible(page, "billing-past-due");
    await db`update subscriptions set status = 'active', cancel_at_period_end = true where org_id = ${orgId}`;
    await db`update invoices set status = 'paid', amount_paid = 2900 where org_id = ${orgId} and id = ${`in_a11y${run}`}`;
    await page.goto("/billing");
    await expect(page.getByTestId("subscription-canceling")).toBeVisible();
    await expectAccessible(page, "billing-set-to-cancel");
    await db`update subscriptions set status = 'canceled', cancel_at_period_end = false where org_id = ${orgId}`;
    await page.goto("/billing");
    await expect(page.getByTestId("subscription-ended")).toBeVisible();
    await expectAccessible(page, "billing-canceled");
  } finally {
    await db.end();
  }
});

test("the admin page has no WCAG 2.1 AA violations", async ({ page }) => {
  await signIn(page, "admin@e2e.test", `org_a11yadmin${run}`);
  await page.goto("/admin");
  await expect(page.getByRole("heading", { name: "Operations" })).toBeVisible();
  await expectAccessible(page, "admin");
  // The org search, filtered, and an org's detail page.
  await page.goto(`/admin?q=${encodeURIComponent(`org_a11yadmin${run}`)}&status=none#orgs`);
  await expect(page.getByText("1 organisation · page 1 of 1")).toBeVisible();
  await expectAccessible(page, "admin-org-search");
  await page.getByRole("link", { name: "E2E Inc" }).first().click();
  await expect(page).toHaveURL(new RegExp(`/admin/orgs/org_a11yadmin${run}$`));
  await expect(page.getByRole("heading", { name: "E2E Inc" })).toBeVisible();
  await expectAccessible(page, "admin-org");
});

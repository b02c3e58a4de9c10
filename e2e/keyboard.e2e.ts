// The main actions by keyboard alone, with focus always somewhere useful: on the new key's Copy
// button, back on the button that opened a dialog, on the outcome of a change; and a Stripe
// that does not answer, said within seconds with Retry. Screenshots in e2e/artifacts/kbd-*.png.
import { execFileSync } from "node:child_process";
import { expect, type Page, test } from "@playwright/test";
import { hydrated, PHONE, settle, shot, signIn, startTrial } from "./portal";

const run = Date.now().toString(36);

/** Tabs until the element is focused (at most `max` presses); returns how many it took. */
async function tabTo(page: Page, target: ReturnType<Page["getByRole"]>, max = 40) {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press("Tab");
    if (await target.evaluate((el) => el === document.activeElement)) return i;
  }
  throw new Error(`not reached in ${max} Tabs`);
}

/** The local Stripe's process (started by this run's global setup), by its listening port. */
function stripePid() {
  const out = execFileSync("ss", ["-ltnpH", `sport = :${process.env.E2E_STRIPE_PORT}`]).toString();
  const pid = Number(/pid=(\d+)/.exec(out)?.[1]);
  if (!pid) throw new Error(`no process listens on ${process.env.E2E_STRIPE_PORT}`);
  return pid;
}

test("keys by keyboard: Enter creates one key, focus is on Copy, copying is announced, revoking keeps focus", async ({ page, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await signIn(page, "kbd-keys@e2e.test", `org_kbdk${run}`);
  await page.goto("/keys");
  await hydrated(page);
  await tabTo(page, page.getByLabel("New key name"));
  await page.keyboard.type("kbd server");
  await page.keyboard.press("Enter");
  const copy = page.getByRole("button", { name: "Copy key" });
  await expect(copy).toBeFocused();
  await page.keyboard.press("Enter"); // a second Enter copies; it does not create a duplicate key
  await expect(page.getByRole("status").filter({ hasText: "Copied to the clipboard." })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe((await page.getByTestId("new-key").textContent())!.trim());
  await page.waitForTimeout(2000);
  await expect(page.getByText("Copied to the clipboard.")).toBeVisible(); // still there to be read
  await expect(page.getByRole("button", { name: /^Revoke / })).toHaveCount(1);
  await shot(page, "kbd-keys-copied");

  page.once("dialog", (d) => d.accept());
  const revoke = page.getByRole("button", { name: "Revoke kbd server" });
  await tabTo(page, revoke);
  await page.keyboard.press("Enter");
  await expect(page.locator(":focus")).toContainText('Key "kbd server" revoked');
});

test("billing by keyboard: the dialog is named, focus returns to its opener or to the outcome", async ({ page }) => {
  await signIn(page, "kbd-billing@e2e.test", `org_kbdb${run}`);
  await startTrial(page);
  await page.goto("/billing");
  await hydrated(page);
  // The monthly/yearly switch is one radio group: Tab reaches it, the arrows choose.
  await tabTo(page, page.getByRole("radio", { name: "Monthly" }));
  await page.keyboard.press("ArrowRight");
  await expect(page.getByRole("radio", { name: "Yearly" })).toBeChecked();
  await expect(page.getByTestId("saving-growth")).toHaveText("2 months free — save $198");
  await page.keyboard.press("ArrowLeft");
  await expect(page.getByTestId("price-growth")).toHaveText("$99.00 / month");
  const growth = page.getByRole("button", { name: "Change to Growth" });
  await tabTo(page, growth);
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Upgrade to Growth" });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole("button", { name: "Close" })).toBeVisible();
  await expect(dialog.getByRole("button", { name: "Not now" })).toBeFocused();
  await expect(dialog).toContainText("250,000 API calls this period");
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(growth).toBeFocused();

  await page.keyboard.press("Enter");
  await expect(dialog).toBeVisible();
  await page.keyboard.press("Tab");
  await expect(dialog.getByRole("button", { name: /Pay .* and upgrade/ })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(dialog).toBeHidden({ timeout: 15_000 });
  await expect(page.getByText("Upgraded: your new quota applies now.")).toBeVisible();
  const outcome = page.locator(":focus");
  await expect(outcome).toContainText("Upgraded: your new quota applies now.");

  const starter = page.getByRole("button", { name: "Change to Starter" });
  await tabTo(page, starter);
  await page.keyboard.press("Enter");
  await page.getByRole("dialog").getByRole("button", { name: "Close" }).press("Enter");
  await expect(starter).toBeFocused();
});

test("the phone menu opens by keyboard and closes on the chosen page", async ({ page }) => {
  await page.setViewportSize(PHONE);
  await signIn(page, "kbd-phone@e2e.test", `org_kbdp${run}`);
  await hydrated(page);
  const menu = page.getByRole("button", { name: "Open the menu" });
  await tabTo(page, menu);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("button", { name: "Close the menu" })).toHaveAttribute("aria-expanded", "true");
  await settle(page);
  await shot(page, "kbd-phone-menu");
  const invoices = page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Invoices" });
  await tabTo(page, invoices);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Invoices" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Open the menu" })).toHaveAttribute("aria-expanded", "false");
});

test("Stripe not answering: within seconds the page says nothing was charged, offers Retry, and locks the other buttons while paying", async ({ page }) => {
  await signIn(page, "kbd-stripe@e2e.test", `org_kbds${run}`);
  await startTrial(page);
  await page.goto("/billing");
  await hydrated(page);
  const pid = stripePid();
  try {
    // A preview while Stripe hangs.
    process.kill(pid, "SIGSTOP");
    const started = Date.now();
    await page.getByRole("button", { name: "Change to Pro" }).click();
    await expect(page.getByRole("button", { name: "Change to Growth" })).toBeDisabled();
    const slow = page.getByRole("alert").filter({ hasText: "Stripe is not answering" });
    await expect(slow).toBeVisible({ timeout: 8000 });
    expect(Date.now() - started).toBeLessThan(7000);
    await expect(slow).toContainText("Nothing was charged.");
    await expect(slow.getByRole("button", { name: "Retry" })).toBeFocused();
    await shot(page, "kbd-stripe-slow-preview");
    // Retry starts a new attempt: the message goes, and comes back if Stripe still says nothing.
    await page.keyboard.press("Enter");
    await expect(slow).toBeHidden();
    await expect(slow).toBeVisible({ timeout: 8000 });
    process.kill(pid, "SIGCONT");
    const dialog = page.getByRole("dialog", { name: "Upgrade to Pro" });
    // Stripe answers again: the attempt in flight opens the dialog, or, if the server had already
    // given up on it (its 5 s deadline, or Stripe's breaker still open), Retry does.
    // (Each wait outlasts an attempt — the server gives up after 5 s — so Retry never cuts one short.)
    await expect(async () => {
      if (!(await dialog.isVisible()) && (await slow.isVisible())) await slow.getByRole("button", { name: "Retry" }).click({ timeout: 2000 });
      await expect(dialog).toBeVisible({ timeout: 10_000 });
    }).toPass({ timeout: 60_000 });

    // Paying while Stripe hangs: no way out of the dialog mid-payment, and the honest message.
    process.kill(pid, "SIGSTOP");
    await dialog.getByRole("button", { name: /Pay .* and upgrade/ }).click();
    await expect(dialog.getByRole("button", { name: "Not now" })).toBeDisabled();
    await expect(dialog.getByRole("button", { name: "Close" })).toBeDisabled();
    const paying = dialog.getByRole("alert").filter({ hasText: "Stripe is not answering" });
    await expect(paying).toBeVisible({ timeout: 8000 });
    await expect(paying).toContainText("nothing has been charged so far");
    await expect(paying.getByRole("button", { name: "Retry" })).toBeFocused();
    await settle(page);
    await shot(page, "kbd-stripe-slow-paying");
    // The server gives up on Stripe after 5 s and the page says the payment is unconfirmed: if
    // Stripe went ahead, the plan changes by itself; Retry is safe.
    await expect(paying).toContainText("did not confirm the payment in time", { timeout: 8000 });
    await expect(dialog.getByRole("button", { name: "Not now" })).toBeEnabled();
  } finally {
    process.kill(pid, "SIGCONT");
  }
  // Stripe answers again: Retry (the same key) finishes the upgrade, charged once. (Had Stripe run
  // the request it held, the webhook would have moved the org already: "already on Pro".)
  const dialog = page.getByRole("dialog", { name: "Upgrade to Pro" });
  const done = page.getByText("Upgraded: your new quota applies now.").or(dialog.getByText("The organisation is already on Pro."));
  await expect(async () => {
    const retry = dialog.getByRole("button", { name: "Retry" }).first();
    if (!(await done.isVisible()) && (await retry.isVisible())) await retry.click({ timeout: 2000 });
    await expect(done).toBeVisible({ timeout: 3000 });
  }).toPass({ timeout: 40_000 });
  await page.goto("/dashboard");
  await expect(page.getByText("pro", { exact: true })).toBeVisible();
});

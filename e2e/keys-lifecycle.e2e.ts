// The keys page's lifecycle forms: a key created with a rate limit (the API then answers 429
// RATE_LIMITED over it), renamed with a new limit, given two limits then one (by keyboard),
// rolled (the new secret shown once with Copy, the old one still working in its grace), and the
// org's default limits; axe-clean at 1280 and 390 px. Screenshots in e2e/artifacts/keys-*.png.
import { expect, test } from "@playwright/test";
import { expectAccessible, hydrated, PHONE, shot, signIn, startTrial } from "./portal";

const run = Date.now().toString(36);

test("create with a limit, rename and change it, roll with a grace period, set the org default", async ({ page }) => {
  await signIn(page, "keys-life@e2e.test", `org_klife${run}`);
  await startTrial(page);
  await page.goto("/keys");
  await hydrated(page);

  await page.getByLabel("New key name").fill("limited server");
  await page.getByText("Rate limits and expiry (optional)").click();
  await page.locator("#create-mode").selectOption("custom");
  await page.locator("#create-limit-1").fill("2");
  await page.locator("#create-window-1").selectOption("3600");
  await page.getByRole("button", { name: "Create key" }).click();
  const secret = (await page.getByTestId("new-key").textContent())!.trim();
  await expect(page.getByRole("button", { name: "Copy key" })).toBeFocused();
  await expectAccessible(page, "keys-created-limited");

  const quota = () => page.request.get("/api/v1/quota", { headers: { authorization: `Bearer ${secret}` } });
  expect((await quota()).status()).toBe(200);
  expect((await quota()).status()).toBe(200);
  const limited = await quota();
  expect(limited.status()).toBe(429);
  expect(limited.headers()["retry-after"]).toBeTruthy();
  expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");

  // Rename and lift the limit.
  await page.locator("#manage-key").selectOption({ label: "limited server" });
  await expect(page.locator("#edit-limit-1")).toHaveValue("2");
  await page.locator("#edit-name").fill("ci runner");
  await page.locator("#edit-mode").selectOption("none");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.locator(":focus")).toContainText('Key "ci runner" saved.');
  await expect(page.getByRole("cell", { name: "ci runner", exact: true })).toBeVisible();
  expect((await quota()).status()).toBe(200);

  // A bad limit is said in the page and changes nothing.
  await page.locator("#edit-mode").selectOption("custom");
  await page.locator("#edit-limit-1").evaluate((el: HTMLInputElement) => {
    el.removeAttribute("min");
    el.value = "0";
  });
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByRole("alert")).toContainText("Limit 1: requests allowed must be a whole number from 1 to 1,000,000.");
  await shot(page, "keys-edit-error");

  // Two limits, added by keyboard: a call must fit in both; removing one lifts it.
  await page.goto("/keys");
  await hydrated(page);
  const edit = page.locator("form", { has: page.locator("#edit-mode") });
  await page.locator("#edit-mode").selectOption("custom");
  await page.locator("#edit-limit-1").fill("100");
  await edit.getByRole("button", { name: "Add a limit" }).press("Enter");
  await expect(page.locator("#edit-limit-2")).toBeFocused();
  await page.keyboard.type("1");
  await page.locator("#edit-window-2").selectOption("86400");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.locator(":focus")).toContainText('Key "ci runner" saved.');
  await expect(page.locator("#edit-limit-2")).toHaveValue("1");
  expect((await quota()).status()).toBe(200);
  expect((await quota()).status()).toBe(429);
  await edit.getByRole("button", { name: "Remove limit 2" }).press("Enter");
  await expect(edit.getByRole("button", { name: "Add a limit" })).toBeFocused();
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.locator(":focus")).toContainText('Key "ci runner" saved.');
  // The message is the previous save's text too (no page load in between), so it can show before
  // this save is answered: wait for the lifted limit itself. A key still held to 1 a day never gets there.
  await expect.poll(async () => (await quota()).status(), { timeout: 10_000 }).toBe(200);

  // Roll: the new secret once, with Copy; the old one keeps working for its grace.
  await page.goto("/keys");
  await hydrated(page);
  page.once("dialog", (d) => d.accept());
  await page.locator("#roll-grace").selectOption("3600");
  await page.getByRole("button", { name: "Roll secret" }).click();
  await expect(page.getByText('Key "ci runner" rolled')).toBeVisible();
  await expect(page.getByText(/The old secret keeps working until/)).toBeVisible();
  await expect(page.getByRole("button", { name: "Copy key" })).toBeFocused();
  const rolled = (await page.getByTestId("new-key").textContent())!.trim();
  expect(rolled).not.toBe(secret);
  expect((await quota()).status()).toBe(200);
  expect((await page.request.get("/api/v1/quota", { headers: { authorization: `Bearer ${rolled}` } })).status()).toBe(200);
  await shot(page, "keys-rolled");
  await expectAccessible(page, "keys-rolled");

  // The org default.
  await page.locator("#default-mode").selectOption("custom");
  await page.locator("#default-limit-1").fill("500");
  await page.locator("#default-window-1").selectOption("60");
  await page.getByRole("button", { name: "Save default" }).click();
  await expect(page.locator(":focus")).toContainText("Default rate limits saved.");
  await page.reload();
  await expect(page.locator("#default-limit-1")).toHaveValue("500");
  await page.setViewportSize(PHONE);
  await expectAccessible(page, "keys-lifecycle-phone");
  await shot(page, "keys-lifecycle-phone");
});

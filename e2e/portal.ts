// Shared steps for the portal's browser specs: sign in, start a trial, make a key, record
// usage, check a page with axe (WCAG 2.1 A/AA), screenshots into e2e/artifacts/.
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

export const WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

export const shot = (page: Page, name: string) => page.screenshot({ path: `e2e/artifacts/${name}.png`, fullPage: true });

/** Waits for every running animation (a modal's fade-in) so axe sees final colours. */
export async function settle(page: Page) {
  await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished.catch(() => {}))));
  await page.waitForTimeout(250);
}

/** Axe violations of WCAG 2.1 A/AA on the page as it is, summarised for a readable failure. */
export async function violations(page: Page) {
  await settle(page);
  const result = await new AxeBuilder({ page }).withTags(WCAG).analyze();
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary?.split("\n")[1] ?? ""}`),
  }));
}

/** The page passes axe at desktop and phone widths; screenshots of both. */
export async function expectAccessible(page: Page, name: string) {
  for (const [label, size] of [
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ] as const) {
    await page.setViewportSize(size);
    expect(await violations(page), `${name} at ${label}`).toEqual([]);
    await shot(page, `a11y-${name}-${label}`);
  }
  await page.setViewportSize(DESKTOP);
}

export async function signIn(page: Page, email: string, org: string) {
  await page.goto("/dev/sign-in");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Organisation id").fill(org);
  await page.getByLabel("Organisation name").fill("E2E Inc");
  await expect(async () => {
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/dashboard/, { timeout: 2000 });
  }).toPass({ timeout: 20_000 });
}

/** Waits until React has hydrated the page, so that clicks are not lost. */
export async function hydrated(page: Page) {
  await page.waitForFunction(() => Boolean((window as unknown as { __remixRouter?: unknown }).__remixRouter) && document.readyState === "complete");
  await page.waitForTimeout(200);
}

export async function startTrial(page: Page) {
  await page.goto("/billing");
  await hydrated(page);
  await page.getByRole("button", { name: "Start free trial" }).click();
  await page.getByLabel("Card number").fill("4242 4242 4242 4242");
  await page.getByRole("button", { name: "Start trial" }).click();
  await expect(page).toHaveURL(/\/dashboard\?checkout=success/);
  await expect(page.getByText("trialing")).toBeVisible({ timeout: 15_000 });
}

export async function createKey(page: Page, name: string) {
  await page.goto("/keys");
  await hydrated(page);
  await page.getByLabel("New key name").fill(name);
  await page.getByRole("button", { name: "Create key" }).click();
  return (await page.getByTestId("new-key").textContent())!.trim();
}

export const recordUsage = (page: Page, key: string, id: string, quantity: number) =>
  page.request.post("/api/v1/usage", { headers: { authorization: `Bearer ${key}` }, data: { request_id: id, quantity } });

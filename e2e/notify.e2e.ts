// Notifications in a real browser: add a webhook endpoint, send a test event and see its
// delivery, retry a failed one; change the org's time zone and see the daily chart move.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect, type Page, test } from "@playwright/test";
import postgres from "postgres";
import { formatDay } from "../app/components/format";

const shot = (page: Page, name: string) => page.screenshot({ path: `e2e/artifacts/${name}.png`, fullPage: true });
const orgId = `org_e2en${Date.now().toString(36)}`;
const DAY = 86_400_000;

async function signIn(page: Page) {
  await page.goto("/dev/sign-in");
  await page.getByLabel("Email").fill("owner@notify.test");
  await page.getByLabel("Organisation id").fill(orgId);
  await page.getByLabel("Organisation name").fill("Notify Inc");
  await expect(async () => {
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/dashboard/, { timeout: 2000 });
  }).toPass({ timeout: 20_000 });
}

test("a customer adds a webhook endpoint, sees a delivery, retries a failed one, and moves the chart with the time zone", async ({ page }) => {
  // A receiver that fails its second request.
  const seen: string[] = [];
  const receiver = createServer((req, res) => {
    seen.push(String(req.headers["webhook-id"]));
    res.statusCode = seen.length === 2 ? 500 : 200;
    res.end(seen.length === 2 ? "down" : "ok");
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  const sql = postgres(process.env.E2E_DATABASE_URL!, { max: 1, onnotice: () => {} });
  try {
    await signIn(page);
    await page.getByRole("link", { name: "Webhooks" }).click();
    await expect(page.getByRole("heading", { name: "Webhooks" })).toBeVisible();
    await page.getByLabel("Endpoint URL").fill(url);
    await page.getByLabel("api_key.created").check();
    await page.getByRole("button", { name: "Add endpoint" }).click();
    await expect(page.getByTestId("signing-secret")).toHaveText(/^whsec_/);
    await shot(page, "20-webhooks-endpoint");

    // A test event: delivered.
    await page.getByRole("button", { name: `Send a test event to ${url}` }).click();
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId("deliveries").getByRole("table").getByText("succeeded")).toBeVisible({ timeout: 1000 });
    }).toPass({ timeout: 20_000 });

    // A second one fails (the receiver answers 500); retry it by hand: delivered.
    await page.getByRole("button", { name: `Send a test event to ${url}` }).click();
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId("deliveries").getByRole("table").getByText("retrying")).toBeVisible({ timeout: 1000 });
    }).toPass({ timeout: 20_000 });
    await shot(page, "21-webhooks-retrying");
    await page.getByRole("button", { name: "Retry delivery of webhook.test" }).first().click();
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId("deliveries").getByRole("table").getByText("succeeded")).toHaveCount(2, { timeout: 1000 });
    }).toPass({ timeout: 20_000 });
    expect(seen).toHaveLength(3);
    expect(seen[2]).toBe(seen[1]); // the retry is the same message
    await shot(page, "22-webhooks-delivered");

    // Usage at 20:00 UTC two days ago: one bar; at UTC+14 it is the next day's.
    const start = new Date(Date.now() - 3 * DAY);
    await sql`insert into subscriptions (org_id, plan_code, status, period_start, period_end)
              values (${orgId}, 'starter', 'active', ${start.toISOString()}::timestamptz, ${new Date(start.getTime() + 30 * DAY).toISOString()}::timestamptz)`;
    const hour = new Date(Math.floor((Date.now() - 2 * DAY) / DAY) * DAY + 20 * 3_600_000);
    await sql`insert into usage_hourly (org_id, metric, hour, quantity) values (${orgId}, 'api_call', ${hour.toISOString()}::timestamptz, 500)`;
    // The day of the first bar that is not empty (the chart's bars are daily usage), as its
    // tooltip names it (the axis shows a tick every few days across the whole period).
    const barDay = async () => {
      await expect(page.locator(".recharts-bar-rectangle path").first()).toBeVisible();
      await page.locator(".recharts-surface").first().scrollIntoViewIfNeeded();
      const at = await page.evaluate(() => {
        const bars = [...document.querySelectorAll(".recharts-bar-rectangle path")].filter((e) => e.getBoundingClientRect().height > 0);
        const box = bars.map((e) => e.getBoundingClientRect()).reduce((a, b) => (b.x < a.x ? b : a));
        return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
      });
      await page.mouse.move(at.x, at.y);
      const label = page.locator(".recharts-tooltip-label").first();
      await expect(label).toBeVisible();
      return label.textContent();
    };
    // The chart's ticks say "Nov 25" (the portal's one day format).
    const dayLabel = (at: Date) => formatDay(at.toISOString().slice(0, 10));
    await page.getByRole("link", { name: "Dashboard" }).click();
    await expect(page.getByText("API calls used this period (UTC)")).toBeVisible();
    expect(await barDay()).toBe(dayLabel(hour));

    await page.getByRole("link", { name: "Settings" }).click();
    // The picker is searchable by name or offset; each zone shows its UTC offset.
    await page.getByRole("textbox", { name: "Time zone" }).fill("Kiritimati");
    await page.getByRole("option", { name: "(UTC+14:00) Pacific/Kiritimati" }).click();
    await page.getByRole("button", { name: "Save settings" }).click();
    await expect(page.getByText("Settings saved.")).toBeVisible();
    await expect(page.getByTestId("audit-log").getByRole("table").getByText("Changed settings: time zone from UTC to Pacific/Kiritimati")).toBeVisible();
    await shot(page, "23-settings");

    await page.getByRole("link", { name: "Dashboard" }).click();
    await expect(page.getByText("API calls used this period (Pacific/Kiritimati)")).toBeVisible();
    expect(await barDay()).toBe(dayLabel(new Date(hour.getTime() + DAY)));
    await shot(page, "24-dashboard-time-zone");
  } finally {
    receiver.close();
    await sql.end();
  }
});

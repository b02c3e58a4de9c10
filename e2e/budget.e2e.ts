// The dashboard's weight on a slow phone connection (150 ms latency, 1.6 Mbit/s, cold cache):
// first contentful paint ≤ 1.5 s, JavaScript ≤ 350 KB as sent (compressed), the chart library
// loaded after the page, in a box of its final size, a progress bar while the next page loads,
// and a favicon that exists.
import { expect, test } from "@playwright/test";
import { createKey, recordUsage, shot, signIn, startTrial } from "./portal";

test("the dashboard paints within 1.5 s on a slow connection and ships at most 350 KB of compressed JavaScript", async ({ page }) => {
  await signIn(page, "budget@e2e.test", `org_budget${Date.now().toString(36)}`);
  await startTrial(page);
  const key = await createKey(page, "budget");
  expect((await recordUsage(page, key, "budget-1", 300)).status()).toBe(200);

  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 150,
    downloadThroughput: (1.6 * 1024 * 1024) / 8,
    uploadThroughput: (750 * 1024) / 8,
  });
  const scripts = new Map<string, string>();
  const sent = new Map<string, number>();
  cdp.on("Network.responseReceived", (e) => {
    if (e.type === "Script") scripts.set(e.requestId, e.response.url);
  });
  cdp.on("Network.loadingFinished", (e) => {
    if (scripts.has(e.requestId)) sent.set(scripts.get(e.requestId)!, e.encodedDataLength);
  });

  // The pointer away from the navigation: a link under it would prefetch another page's code
  // (prefetch="intent"), which is not the dashboard's weight.
  const viewport = page.viewportSize()!;
  await page.mouse.move(viewport.width - 5, viewport.height - 5);
  await page.goto("/dashboard", { waitUntil: "load" });
  const fcp = await page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const entry = performance.getEntriesByName("first-contentful-paint")[0];
        if (entry) return resolve(entry.startTime);
        new PerformanceObserver((list) => resolve(list.getEntries()[0]!.startTime)).observe({ type: "paint", buffered: true });
      }),
  );
  // Before the chart arrives its box already has its final height; then the chart fills it.
  const box = page.getByRole("figure");
  const before = (await box.boundingBox())!.height;
  await expect(page.locator(".recharts-surface").first()).toBeVisible({ timeout: 20_000 });
  await page.waitForLoadState("networkidle");
  const after = (await box.boundingBox())!.height;
  await shot(page, "budget-dashboard");

  const totalKb = [...sent.values()].reduce((s, n) => s + n, 0) / 1024;
  const chart = [...sent.keys()].find((u) => u.includes("usage-chart"));
  console.log(
    `FCP ${Math.round(fcp)} ms; JavaScript ${totalKb.toFixed(1)} KB compressed in ${sent.size} files; chart chunk ${chart ? (sent.get(chart)! / 1024).toFixed(1) : "?"} KB`,
  );
  expect(fcp).toBeLessThanOrEqual(1500);
  expect(totalKb).toBeLessThanOrEqual(350);
  expect(chart, "the chart library comes in its own, lazily loaded file").toBeTruthy();
  expect(Math.abs(after - before)).toBeLessThanOrEqual(2);

  // Still on the slow connection: moving to another page shows the page-wide progress bar.
  await page.getByRole("link", { name: "Billing" }).click();
  await expect(page.getByTestId("navigation-progress")).toBeAttached();
  await expect(page.getByRole("heading", { name: "Billing" })).toBeVisible({ timeout: 10_000 });
  await expect(page.getByTestId("navigation-progress")).not.toBeAttached();

  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const favicon = await page.request.get("/favicon.ico");
  expect(favicon.status()).toBe(200);
});

// Debian's Chromium for the tests that drive a browser from `bun test` (the Playwright journeys
// in e2e/ have the same flags in their config): headless, and nothing that calls out by itself.
import { type Browser, chromium } from "@playwright/test";

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"],
  });

// Browser journeys in Debian's Chromium against the system started as `npm start` starts it.
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: ".",
  testMatch: /.*\.e2e\.ts$/,
  timeout: 120_000,
  workers: 1,
  reporter: [["list"]],
  outputDir: "./artifacts/results",
  globalSetup: "./global-setup.ts",
  use: {
    baseURL: `http://127.0.0.1:${process.env.E2E_PORT ?? 3100}`,
    browserName: "chromium",
    viewport: { width: 1280, height: 900 },
    screenshot: "only-on-failure",
    trace: "off",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});

// One module per external service (Stripe: billing/'s three stripe*.server.ts modules): only the named modules import the Clerk, Sentry and svix
// packages (one on the server, one in the browser), so each can be loaded only when configured.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Glob } from "bun";

const root = join(import.meta.dir, "..");
const OWNERS: Record<string, string[]> = {
  "@clerk/": ["app/server/auth/clerk.server.ts", "app/clerk.browser.tsx"],
  "@sentry/": ["app/server/observe/sentry.server.ts", "app/sentry.browser.ts"],
  svix: ["app/server/auth/clerk-webhooks.server.ts"],
  // Stigg: the one module that talks to it (the local Stigg in stigg-emulator/ reads the SDK's documents).
  "@stigg/": ["app/server/stigg/stigg.server.ts"],
  // Only billing/ talks to Stripe: the client (and its guard: deadlines, the breaker), its subject
  // modules (meters, overage prices, subscriptions) and its error classes; and the
  // script that cuts Stripe's OpenAPI document (it reads the SDK's pinned version).
  stripe: [
    "app/server/billing/stripe.server.ts",
    "app/server/billing/stripe-client.server.ts",
    "app/server/billing/stripe-meter.server.ts",
    "app/server/billing/stripe-overage.server.ts",
    "app/server/billing/stripe-subscriptions.server.ts",
    "app/server/billing/stripe-top-ups.server.ts",
    "app/server/billing/stripe-errors.server.ts",
    "scripts/stripe-openapi.ts",
  ],
};

async function importersOf(pkg: string): Promise<string[]> {
  const found: string[] = [];
  const files = [...new Glob("{app,worker,cli,db,scripts}/**/*.{ts,tsx}").scanSync({ cwd: root }), ...new Glob("*.ts").scanSync({ cwd: root })];
  for (const file of files) {
    if (file.includes(".test.")) continue;
    const text = await Bun.file(join(root, file)).text();
    if (new RegExp(`from "${pkg.replace("/", "\\/")}[^"]*"|import\\("${pkg.replace("/", "\\/")}`).test(text)) found.push(file);
  }
  return found.sort();
}

describe("SDK boundaries", () => {
  for (const [pkg, owners] of Object.entries(OWNERS)) {
    test(`only ${owners.join(" and ")} import ${pkg}`, async () => {
      expect(await importersOf(pkg)).toEqual([...owners].sort());
    });
  }
});

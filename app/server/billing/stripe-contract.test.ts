// Every request the app (its processes and its worker) sends to Stripe uses only parameters
// Stripe's published API description allows for that operation, with the right types, and every
// answer the local Stripe gives it has the operation's shape (stripe-emulator/contract.ts): the
// main flows — Checkout, usage reporting, upgrade, downgrade and its cancel, the portal, a
// renewal on the test clock, a test-card subscription — recorded at the local Stripe.
import { beforeAll, describe, expect, test } from "bun:test";
import { contractViolations } from "../../../stripe-emulator/contract";
import type { Exchange } from "../../../stripe-emulator/index";
import { descriptionsAtHand } from "../../../stripe-emulator/openapi";
import { billingApi, billingSettled, mirror, newOrg, startBillingSystem, until } from "../../../test/billing";
import { api, rid } from "../../../test/factories";
import { createApiKey } from "../auth/keys.server";
import { advanceOrgClock, subscribeThroughStripe } from "../ops/sandbox.server";
import { driftReport, reportUsageToStripe } from "./meter-report.server";

const exchanges: Exchange[] = [];
const system = startBillingSystem({}, { record: (x) => exchanges.push(x) });
beforeAll(() => system.local.setMeterLag(0));

const descriptions = descriptionsAtHand();
// The app calls Stripe at start too (the portal configuration): the flows run once, whatever was recorded before.
let flowsRan = false;

async function mainFlows() {
  // Checkout, paid on Stripe's page.
  const orgId = await newOrg();
  const call = await billingApi(system.app, orgId);
  const checkout = await call("POST", "checkout", { planCode: "starter" });
  expect(checkout.status).toBe(200);
  const paid = await fetch(checkout.body.data.url, { method: "POST", body: new URLSearchParams({ card: "4242424242424242" }), redirect: "manual" });
  expect(paid.status).toBe(303);
  await until(async () => (await mirror(orgId))?.status === "active");

  // Usage, reported as meter events, and the drift read back.
  const key = await createApiKey({ orgId, name: "contract" });
  await api(system.app.url, key.key).record({ request_id: rid(), quantity: 3 });
  await reportUsageToStripe();
  await driftReport(undefined, 500, 0);

  // Upgrade (previewed), a downgrade scheduled, canceled and scheduled again; the portal.
  const preview = await call("POST", "preview", { planCode: "growth" });
  expect((await call("POST", "upgrade", { planCode: "growth", prorationDate: preview.body.data.prorationDate })).status).toBe(200);
  expect((await call("POST", "downgrade", { planCode: "starter" })).status).toBe(200);
  expect((await call("DELETE", "downgrade")).status).toBe(200);
  expect((await call("POST", "downgrade", { planCode: "starter" })).status).toBe(200);
  expect((await call("POST", "portal", {})).status).toBe(200);
  await billingSettled(system);

  // The renewal on the test clock applies the downgrade; the worker converges and releases.
  await advanceOrgClock(orgId, "31d");
  await billingSettled(system);

  // An org subscribed with a test card by the ops CLI.
  await subscribeThroughStripe(await newOrg(), "pro");
  await billingSettled(system);
}

describe("the app's Stripe traffic against Stripe's published API description", () => {
  test.each(descriptions.map((d) => [d.name, d] as const))("%s: every request allowed, every answer of the operation's shape", async (_name, description) => {
    if (!flowsRan) {
      flowsRan = true;
      await mainFlows();
    }
    const operations = new Set(
      exchanges.map((x) => `${x.method} ${x.path.replace(/\/(cus|sub|sub_sched|price|prod|clock|cs_test|in|mtr|evt|pm|bps)_\w+/g, "/{id}")}`),
    );
    expect(operations.size).toBeGreaterThan(15);
    expect(contractViolations(description, exchanges)).toEqual([]);
  });
});

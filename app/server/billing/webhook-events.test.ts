// The event types the app acts on are one list: convergence dispatches by it, and a type outside it
// is stored and marked processed without a call to Stripe (an `invoice.deleted` used to fail its job
// for good: its invoice no longer exists at Stripe).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Stripe from "stripe";
import type { StripeLocal } from "../../../stripe-emulator/index";
import { newOrg, startStripeWithoutWebhooks, storedStripeEvent } from "../../../test/billing";
import { sql } from "../platform/db.server";
import { processStripeEvent } from "./converge-events.server";
import { buyTopUp } from "./top-ups.server";
import { eventKind, STRIPE_EVENT_TYPES, STRIPE_EVENTS_BY_KIND } from "./webhook-events.server";

// Each is a type a webhook endpoint can be enabled for (tsc refuses a misspelt one here).
STRIPE_EVENT_TYPES satisfies readonly Stripe.WebhookEndpointCreateParams.EnabledEvent[];

let local: StripeLocal;
beforeAll(async () => {
  local = await startStripeWithoutWebhooks();
});
afterAll(async () => {
  await local.stop();
});

describe("the event types the app acts on", () => {
  test("one list, no type twice, each of its kind's family", () => {
    expect(new Set(STRIPE_EVENT_TYPES).size).toBe(STRIPE_EVENT_TYPES.length);
    const prefixes = {
      subscription: "customer.subscription.",
      schedule: "subscription_schedule.",
      checkout: "checkout.session.",
      invoice: "invoice.",
      clock: "test_helpers.test_clock.",
    };
    for (const [kind, types] of Object.entries(STRIPE_EVENTS_BY_KIND)) {
      for (const type of types) expect([type, eventKind(type)]).toEqual([type, kind as never]);
      for (const type of types) expect(type.startsWith(prefixes[kind as keyof typeof prefixes])).toBe(true);
    }
    for (const other of ["invoice.deleted", "invoice.upcoming", "invoice.payment_succeeded", "customer.updated", "test_helpers.test_clock.ready"])
      expect(eventKind(other)).toBeNull();
  });

  test("docs/going-live.md lists exactly these types (its list, its `stripe listen --events`) and the pinned API version", () => {
    const doc = readFileSync(join(import.meta.dir, "../../../docs/going-live.md"), "utf8");
    const block = doc.slice(doc.indexOf("<!-- event-types:start -->"), doc.indexOf("<!-- event-types:end -->"));
    expect([...block.matchAll(/`([a-z_.]+)`/g)].map((m) => m[1]).sort()).toEqual([...STRIPE_EVENT_TYPES].sort());
    const listen = /--events ([a-z_.,]+)/.exec(doc)![1].split(",");
    expect(listen.sort()).toEqual([...STRIPE_EVENT_TYPES].sort());
    // The API version it tells operators to pin is the stripe package's.
    expect([...new Set([...doc.matchAll(/\b20\d\d-\d\d-\d\d\.[a-z]+\b/g)].map((m) => m[0]))]).toEqual([Stripe.API_VERSION]);
  });

  test("a type outside the list is stored and marked processed, without asking Stripe about its object", async () => {
    const event = await storedStripeEvent("invoice.deleted", { id: "in_deleted_draft", object: "invoice", customer: "cus_nobody" });
    await processStripeEvent(event);
    const [row] = await sql<{ processed_at: Date | null }[]>`select processed_at from stripe_events where id = ${event.id}`;
    expect(row.processed_at).not.toBeNull();
  });

  test("a top-up's Checkout paid later (a bank debit: async_payment_succeeded) grants its credits, once", async () => {
    const orgId = await newOrg();
    const started = await buyTopUp(orgId, { metric: "api_call", packs: 2, idempotencyKey: "async-paid" });
    if (started.status !== "checkout") throw new Error(`expected a Checkout, got ${started.status}`);
    // Paid on its page; this local Stripe sends no webhook, so only the stored event below tells us.
    const paid = await fetch(started.checkoutUrl, { method: "POST", body: new URLSearchParams({ card: "4242424242424242" }), redirect: "manual" });
    expect(paid.status).toBe(303);
    const grants = async () => [
      ...(await sql<{ units: number; source_id: string }[]>`select units::int, source_id from credit_grants where org_id = ${orgId}`),
    ];
    expect(await grants()).toEqual([]);
    const event = await storedStripeEvent("checkout.session.async_payment_succeeded", { id: started.sessionId, object: "checkout.session", mode: "payment" });
    for (let i = 0; i < 2; i++) await processStripeEvent(event);
    expect(await grants()).toEqual([{ units: 20_000, source_id: started.sessionId }]);
  });
});

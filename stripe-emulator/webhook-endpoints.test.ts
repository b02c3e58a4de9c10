// Webhook endpoints as Stripe has them: created, listed, updated, disabled and deleted through the
// SDK with Stripe's rules, and events delivered to each endpoint that wants their type, signed with
// that endpoint's own secret.
import { describe, expect, test } from "bun:test";
import Stripe from "stripe";
import { startStripeLocal } from "./index";
import { localStripeForTests, refusal } from "./test-support";

const SCHEMA = "stripe_endpoints_test";
const t = localStripeForTests(SCHEMA, { retrySchedule: [100] });

/** Deliveries wait for this before they are answered (the local Stripe delivers one at a time). */
let gate: Promise<void> = Promise.resolve();

/** A receiver of webhooks: what it got, verified with its endpoint's secret (known after creation). */
function receiver() {
  const got: { type: string; verified: boolean }[] = [];
  let secret = "";
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const body = await req.text();
      let verified = true;
      try {
        await t.stripe.webhooks.constructEventAsync(body, req.headers.get("stripe-signature") ?? "", secret);
      } catch {
        verified = false;
      }
      got.push({ type: (JSON.parse(body) as { type: string }).type, verified });
      await gate;
      return new Response("ok");
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/hook`,
    got,
    setSecret: (s: string) => {
      secret = s;
    },
    stop: () => server.stop(true),
  };
}

describe("webhook endpoints are checked like Stripe checks them", () => {
  test("url and enabled_events are required; an unknown event type or parameter is refused", async () => {
    const noUrl = await refusal(t.stripe.webhookEndpoints.create({ enabled_events: ["invoice.paid"] } as never));
    expect([noUrl.statusCode, noUrl.param, noUrl.message]).toEqual([400, "url", "Missing required param: url."]);
    const noEvents = await refusal(t.stripe.webhookEndpoints.create({ url: "https://example.com/hook" } as never));
    expect([noEvents.statusCode, noEvents.param]).toEqual([400, "enabled_events"]);
    const badType = await refusal(
      t.stripe.webhookEndpoints.create({ url: "https://example.com/hook", enabled_events: ["invoice.paid", "invoice.payed" as never] }),
    );
    expect([badType.statusCode, badType.code, badType.param]).toEqual([400, "parameter_invalid_string", "enabled_events[1]"]);
    const badUrl = await refusal(t.stripe.webhookEndpoints.create({ url: "ftp://example.com/hook", enabled_events: ["*"] }));
    expect([badUrl.statusCode, badUrl.param]).toEqual([400, "url"]);
    const connect = await refusal(t.stripe.webhookEndpoints.create({ url: "https://example.com/hook", enabled_events: ["*"], connect: true }));
    expect([connect.statusCode, connect.code, connect.param]).toEqual([400, "parameter_unknown", "connect"]);
    const version = await refusal(t.stripe.webhookEndpoints.create({ url: "https://example.com/hook", enabled_events: ["*"], api_version: "2024-06-20" }));
    expect([version.statusCode, version.param]).toEqual([400, "api_version"]);
  });

  test("the secret is answered at creation only; update, disable, delete; a missing one is 404", async () => {
    const created = await t.stripe.webhookEndpoints.create({
      url: "https://example.com/a",
      enabled_events: ["invoice.paid", "customer.subscription.updated"],
      api_version: Stripe.API_VERSION,
      description: "mine",
      metadata: { app: "metered" },
    });
    expect(created).toMatchObject({
      object: "webhook_endpoint",
      status: "enabled",
      url: "https://example.com/a",
      api_version: Stripe.API_VERSION,
      livemode: false,
    });
    expect(created.secret).toMatch(/^whsec_/);
    const read = await t.stripe.webhookEndpoints.retrieve(created.id);
    expect(read.secret).toBeUndefined();
    expect(read.enabled_events).toEqual(["invoice.paid", "customer.subscription.updated"]);
    const listed = (await t.stripe.webhookEndpoints.list({ limit: 100 })).data.find((e) => e.id === created.id)!;
    expect(listed.secret).toBeUndefined();

    const disabled = await t.stripe.webhookEndpoints.update(created.id, { disabled: true, enabled_events: ["*"], metadata: { app: "" } });
    expect(disabled).toMatchObject({ status: "disabled", enabled_events: ["*"], metadata: {} });
    expect((await t.stripe.webhookEndpoints.update(created.id, { disabled: false })).status).toBe("enabled");

    expect(await t.stripe.webhookEndpoints.del(created.id)).toEqual({ id: created.id, object: "webhook_endpoint", deleted: true } as never);
    const gone = await refusal(t.stripe.webhookEndpoints.retrieve(created.id));
    expect([gone.statusCode, gone.code]).toEqual([404, "resource_missing"]);
  });

  test("an account has at most 16 endpoints", async () => {
    const made: string[] = [];
    const existing = (await t.stripe.webhookEndpoints.list({ limit: 100 })).data.length;
    for (let i = existing; i < 16; i++) made.push((await t.stripe.webhookEndpoints.create({ url: `https://example.com/${i}`, enabled_events: ["*"] })).id);
    const over = await refusal(t.stripe.webhookEndpoints.create({ url: "https://example.com/17", enabled_events: ["*"] }));
    expect(over.statusCode).toBe(400);
    for (const id of made) await t.stripe.webhookEndpoints.del(id);
  });
});

describe("events go to every endpoint that wants them, signed with its secret", () => {
  test("each endpoint gets its types only; a disabled one gets nothing; pending_webhooks counts the endpoints still to reach", async () => {
    const subs = receiver();
    const all = receiver();
    const off = receiver();
    const a = await t.stripe.webhookEndpoints.create({ url: subs.url, enabled_events: ["customer.updated"] });
    const b = await t.stripe.webhookEndpoints.create({ url: all.url, enabled_events: ["*"] });
    const c = await t.stripe.webhookEndpoints.create({ url: off.url, enabled_events: ["*"] });
    subs.setSecret(a.secret!);
    all.setSecret(b.secret!);
    off.setSecret(c.secret!);
    await t.stripe.webhookEndpoints.update(c.id, { disabled: true });
    let open = () => {};
    gate = new Promise((resolve) => {
      open = resolve;
    });
    try {
      // No delivery is answered yet: each event still counts every endpoint it goes to.
      const customer = await t.stripe.customers.create({ email: "hooks@example.com" });
      await t.stripe.customers.update(customer.id, { name: "Hooks" });
      const events = await t.stripe.events.list({ limit: 2 });
      expect(events.data.map((e) => [e.type, e.pending_webhooks])).toEqual([
        ["customer.updated", 2],
        ["customer.created", 1],
      ]);
      open();
      await t.local.flushWebhooks();
      expect(subs.got).toEqual([{ type: "customer.updated", verified: true }]);
      expect(all.got).toEqual([
        { type: "customer.created", verified: true },
        { type: "customer.updated", verified: true },
      ]);
      expect(off.got).toEqual([]);
      // Delivered: the events no longer count the endpoints (the counter is written after each answer).
      const deadline = Date.now() + 5000;
      while (!(await t.stripe.events.list({ limit: 2 })).data.every((e) => e.pending_webhooks === 0) && Date.now() < deadline) await Bun.sleep(20);
      expect((await t.stripe.events.list({ limit: 2 })).data.map((e) => e.pending_webhooks)).toEqual([0, 0]);
    } finally {
      open();
      for (const e of [a, b, c]) await t.stripe.webhookEndpoints.del(e.id);
      for (const r of [subs, all, off]) r.stop();
    }
  });

  test("the endpoint named at start is registered once, with its types, and kept across restarts", async () => {
    const hook = receiver();
    const webhook = { url: hook.url, secret: "whsec_start", events: ["customer.created"] };
    const restarted = await startStripeLocal({ port: 0, databaseUrl: process.env.DATABASE_URL!, schema: `${SCHEMA}_start`, webhook });
    await restarted.stop();
    const again = await startStripeLocal({ port: 0, databaseUrl: process.env.DATABASE_URL!, schema: `${SCHEMA}_start`, webhook });
    try {
      const client = new Stripe("sk_test_start", { host: "127.0.0.1", port: again.port, protocol: "http", maxNetworkRetries: 0 });
      const endpoints = (await client.webhookEndpoints.list()).data;
      expect(endpoints.map((e) => [e.url, e.enabled_events, e.status])).toEqual([[hook.url, ["customer.created"], "enabled"]]);
      hook.setSecret("whsec_start");
      const customer = await client.customers.create({ email: "start@example.com" });
      await client.customers.update(customer.id, { name: "Start" });
      await again.flushWebhooks();
      expect(hook.got).toEqual([{ type: "customer.created", verified: true }]);
    } finally {
      await again.stop();
      hook.stop();
    }
  });
});

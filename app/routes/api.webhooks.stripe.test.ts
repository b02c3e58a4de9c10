// Webhook intake: only correctly signed, fresh events are stored, once, with their job enqueued
// in the same transaction. Signatures are made with the stripe SDK's own test helper.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import { startApp, type TestApp } from "../../test/app";
import { LOCAL_WEBHOOK_SECRET } from "../server/billing/stripe.server";
import { sql } from "../server/platform/db.server";

const stripe = new Stripe("sk_test_unused");
let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app.stop();
});

const eventBody = (id: string, type = "customer.subscription.updated") =>
  JSON.stringify({
    id,
    object: "event",
    type,
    api_version: "2026-10-28.endive",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object: { id: "sub_test_1", object: "subscription", customer: "cus_test_1" } },
  });

async function send(body: string, signature?: string | null) {
  return fetch(`${app.url}/api/webhooks/stripe`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(signature ? { "stripe-signature": signature } : {}) },
    body,
  });
}

const sign = (payload: string, opts: { secret?: string; timestamp?: number } = {}) =>
  stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: opts.secret ?? LOCAL_WEBHOOK_SECRET, timestamp: opts.timestamp });

async function stored(id: string) {
  const [row] = await sql<{ n: number; jobs: number }[]>`
    select (select count(*) from stripe_events where id = ${id})::int as n,
           (select count(*) from graphile_worker.jobs where key = ${id})::int as jobs`;
  return row;
}

describe("Stripe webhook intake", () => {
  test("a signed event is stored and its job enqueued under the event id, then answered 200", async () => {
    const id = `evt_ok_${crypto.randomUUID().slice(0, 8)}`;
    const body = eventBody(id);
    const r = await send(body, await sign(body));
    expect(r.status).toBe(200);
    expect(((await r.json()) as any).data).toMatchObject({ received: true, eventId: id, duplicate: false });
    expect(await stored(id)).toEqual({ n: 1, jobs: 1 });
  });

  test("the same event delivered twice is stored and enqueued once", async () => {
    const id = `evt_dup_${crypto.randomUUID().slice(0, 8)}`;
    const body = eventBody(id);
    const [a, b] = await Promise.all([send(body, await sign(body)), send(body, await sign(body))]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const dups = [((await a.json()) as any).data.duplicate, ((await b.json()) as any).data.duplicate].sort();
    expect(dups).toEqual([false, true]);
    expect(await stored(id)).toEqual({ n: 1, jobs: 1 });
  });

  const rejected: [string, (body: string) => Promise<string | null>][] = [
    ["a missing signature", async () => null],
    ["a forged signature (wrong secret)", (body) => sign(body, { secret: "whsec_notTheRightSecret" })],
    ["a stale signature (over 5 minutes old)", (body) => sign(body, { timestamp: Math.floor(Date.now() / 1000) - 301 })],
    ["a signature of another body", () => sign(eventBody("evt_other"))],
    ["garbage in the header", async () => "t=abc,v1=zzz"],
  ];
  for (const [name, signature] of rejected) {
    test(`${name} → 400, nothing stored`, async () => {
      const id = `evt_bad_${crypto.randomUUID().slice(0, 8)}`;
      const body = eventBody(id);
      const r = await send(body, await signature(body));
      expect(r.status).toBe(400);
      const b = (await r.json()) as any;
      expect(b.ok).toBe(false);
      expect(b.error.code).toBe("VALIDATION_FAILED");
      expect(await stored(id)).toEqual({ n: 0, jobs: 0 });
    });
  }
});

// Correctly signed Stripe events of a shape the system cannot use are refused with 400 in the
// envelope and stored nowhere — never a 500, which Stripe would retry for days. The signatures
// are made with the stripe SDK's own helper and the local webhook secret.
import { afterAll, beforeAll, expect, test } from "bun:test";
import Stripe from "stripe";
import { LOCAL_WEBHOOK_SECRET } from "../../app/server/billing/stripe.server";
import { sql } from "../../app/server/platform/db.server";
import { startApp, type TestApp } from "../app";

const stripe = new Stripe("sk_test_unused");
let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app.stop();
});

const now = () => Math.floor(Date.now() / 1000);
const valid = (id: string) => ({
  id,
  object: "event",
  type: "customer.subscription.updated",
  api_version: "2026-10-28.endive",
  created: now(),
  livemode: false,
  pending_webhooks: 1,
  request: { id: null, idempotency_key: null },
  data: { object: { id: "sub_malformed_1", object: "subscription", customer: "cus_malformed_1" } },
});

async function deliver(payload: string) {
  const signature = await stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: LOCAL_WEBHOOK_SECRET });
  const r = await fetch(`${app.url}/api/webhooks/stripe`, {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": signature },
    body: payload,
  });
  return { status: r.status, body: (await r.json()) as any };
}

const storedEvents = async () => (await sql<{ n: number }[]>`select count(*)::int as n from stripe_events`)[0].n;
const queuedJobs = async () => (await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs where task_identifier = 'stripe_event'`)[0].n;

// Each case: a name and the raw JSON body, signed as it is.
const malformed: [string, (id: string) => string][] = [
  ["no data.object", (id) => JSON.stringify({ ...valid(id), data: {} })],
  ["a null data.object", (id) => JSON.stringify({ ...valid(id), data: { object: null } })],
  ["no data at all", (id) => JSON.stringify({ ...valid(id), data: undefined })],
  ["data.object a string", (id) => JSON.stringify({ ...valid(id), data: { object: "sub_1" } })],
  ["no event id", (id) => JSON.stringify({ ...valid(id), id: undefined })],
  ["a numeric event id", (id) => JSON.stringify({ ...valid(id), id: 42 })],
  ["a NUL in the event id", (id) => JSON.stringify({ ...valid(id), id: `${id}\u0000x` })],
  ["a NUL in the object id", (id) => JSON.stringify({ ...valid(id), data: { object: { id: "sub_\u0000", object: "subscription" } } })],
  ["a NUL in the type", (id) => JSON.stringify({ ...valid(id), type: "invoice.paid\u0000" })],
  ["no type", (id) => JSON.stringify({ ...valid(id), type: undefined })],
  ["no created", (id) => JSON.stringify({ ...valid(id), created: undefined })],
  ["created far beyond any timestamp", (id) => JSON.stringify({ ...valid(id), created: 1e300 })],
  ["a customer that is a number", (id) => JSON.stringify({ ...valid(id), data: { object: { id: "sub_1", object: "subscription", customer: 7 } } })],
  ["a NUL deep inside the object", (id) => JSON.stringify({ ...valid(id), data: { object: { ...valid(id).data.object, description: "a\u0000b" } } })],
  ["a lone surrogate inside the object", (id) => JSON.stringify(valid(id)).replace('"object":"subscription"', '"object":"subscription","name":"\\ud800"')],
  ["a number beyond Postgres numeric", (id) => JSON.stringify(valid(id)).replace('"pending_webhooks":1', `"pending_webhooks":1e${"9".repeat(7)}`)],
  ["JSON null", () => "null"],
  ["a JSON array", () => "[]"],
  ["a JSON string", () => '"evt_1"'],
];

for (const [name, body] of malformed) {
  test(`a signed event with ${name} → 400 in the envelope, stored nowhere`, async () => {
    const [events, jobs] = [await storedEvents(), await queuedJobs()];
    const r = await deliver(body(`evt_bad_${crypto.randomUUID().slice(0, 8)}`));
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ ok: false, error: { code: "VALIDATION_FAILED", message: expect.any(String), details: expect.any(Object) } });
    expect([await storedEvents(), await queuedJobs()]).toEqual([events, jobs]);
  });
}

test("a well-formed signed event is still stored and enqueued (the schema is not over-strict)", async () => {
  const id = `evt_good_${crypto.randomUUID().slice(0, 8)}`;
  const r = await deliver(JSON.stringify(valid(id)));
  expect(r.status).toBe(200);
  expect(r.body.data).toMatchObject({ received: true, eventId: id, duplicate: false });
  // An event whose object carries no id (Stripe's balance object has none) is fine too.
  const noObjectId = `evt_good_${crypto.randomUUID().slice(0, 8)}`;
  const balance = { ...valid(noObjectId), type: "balance.available", data: { object: { object: "balance", available: [] } } };
  expect((await deliver(JSON.stringify(balance))).status).toBe(200);
  expect(app.logs.filter((l) => l.includes('"level":"error"'))).toEqual([]);
});

// Every route file of app/routes/ (URLs from the file names, as the routes walk does), with every
// method, called signed out and as ANOTHER organisation (org B's session and API key) against org
// A's resources: A's key id in keys/$id, A's ids in query strings and bodies, billing actions
// aimed at A; A's webhook endpoint and delivery ids in the webhook routes. Nothing may answer 5xx; an /api 4xx is the error envelope; signed out, a protected
// /api route answers 401/403/404/405; A's own resources answer B with 403/404/405; no answer
// carries any of A's identifiers; and afterwards A's key, subscription, invoices, webhook endpoint
// and delivery are untouched.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApiKey } from "../../app/server/auth/keys.server";
import { ensureCustomer, stripe, subscribeWithTestCard } from "../../app/server/billing/stripe.server";
import { createEndpoint } from "../../app/server/notify/endpoints.server";
import { sql } from "../../app/server/platform/db.server";
import type { StripeLocal } from "../../stripe-emulator/index";
import { startApp, type TestApp } from "../app";
import { mirror, newOrg, signIn, startStripeWithoutWebhooks } from "../billing";
import { setSubscriptionMirror } from "../factories";
import { routeFiles, urlsOf } from "../routes";

/** /api routes anyone may call; every other /api route needs a session or a key. */
const PUBLIC_API = new Set(["api.$.ts", "api.diag.smoke.ts", "api.openapi[.]json.ts", "api.v1.plans.ts", "api.webhooks.stripe.ts"]);
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

type Org = {
  orgId: string;
  keyId: string;
  key: string;
  customerId: string;
  subscriptionId: string;
  invoiceIds: string[];
  endpointId: string;
  deliveryId: string;
};

let local: StripeLocal;
let app: TestApp;
let a: Org;
let b: Org;

async function subscribedOrg(planCode: "starter" | "growth"): Promise<Org> {
  const orgId = await newOrg();
  const subscriptionId = await subscribeWithTestCard({ orgId, planCode });
  await setSubscriptionMirror({ orgId, planCode });
  await sql`update subscriptions set stripe_subscription_id = ${subscriptionId} where org_id = ${orgId}`;
  const { customerId } = await ensureCustomer(orgId);
  const key = await createApiKey({ orgId, name: "cross-org" });
  const invoiceIds = (await stripe.invoices.list({ customer: customerId })).data.map((i) => i.id!);
  // A real endpoint and a delivery that failed for good: a retry or test event by anyone else
  // would change them. The event row is written directly so no job dispatches or delivers it.
  const endpoint = await createEndpoint({ orgId, url: "http://127.0.0.1:9/cross-org", eventTypes: ["invoice.paid"], actor: "t", requestId: null });
  const eventId = `evt_x${orgId}`;
  const deliveryId = `wd_x${orgId}`;
  await sql`insert into events (id, org_id, type, data) values (${eventId}, ${orgId}, 'invoice.paid', '{}')`;
  await sql`insert into webhook_deliveries (id, org_id, endpoint_id, event_id, status, attempts)
            values (${deliveryId}, ${orgId}, ${endpoint.id}, ${eventId}, 'failed', 10)`;
  return { orgId, keyId: key.id, key: key.key, customerId, subscriptionId, invoiceIds, endpointId: endpoint.id, deliveryId };
}

/** A's webhook rows, events and webhook audit entries: what a cross-org webhook call would change. */
const webhookStateOf = async (orgId: string) => ({
  endpoints: await sql`select * from webhook_endpoints where org_id = ${orgId} order by id`,
  deliveries: await sql`select * from webhook_deliveries where org_id = ${orgId} order by id`,
  events: await sql`select id, type from events where org_id = ${orgId} order by id`,
  audit: await sql`select action from audit_log where org_id = ${orgId} and action like 'webhook%' order by id`,
  jobs: await sql`select key from graphile_worker._private_jobs where key like ${`delivery:wd_x${orgId}`}`,
});
let aWebhooksBefore: Awaited<ReturnType<typeof webhookStateOf>>;

/** Everything that would show A's data: none of it may appear in an answer to anyone else. */
const secretsOf = (o: Org) => [o.orgId, o.keyId, o.key.slice(0, 12), o.customerId, o.subscriptionId, o.endpointId, o.deliveryId, ...o.invoiceIds];

beforeAll(async () => {
  local = await startStripeWithoutWebhooks();
  app = await startApp();
  a = await subscribedOrg("growth");
  b = await subscribedOrg("starter");
  expect(a.invoiceIds.length).toBeGreaterThan(0);
  aWebhooksBefore = await webhookStateOf(a.orgId);
  expect([aWebhooksBefore.endpoints.length, aWebhooksBefore.deliveries.length]).toEqual([1, 1]);
});

/** The id a `$id` segment gets: A's own resource of the kind that route file serves. */
const aIdFor = (file: string) =>
  file.startsWith("api.v1.webhooks.endpoints.") ? a.endpointId : file.startsWith("api.v1.webhooks.deliveries.") ? a.deliveryId : a.keyId;
afterAll(async () => {
  await app.stop();
  await local.stop();
});

/** Bodies aimed at A: its ids wherever a route might read an org, a key or a subscription. */
function bodiesAimedAt(o: Org): [string, BodyInit][] {
  const ids = { orgId: o.orgId, keyId: o.keyId, id: o.keyId, customerId: o.customerId, subscriptionId: o.subscriptionId };
  return [
    ["application/json", JSON.stringify({ ...ids, planCode: "pro", name: "cross-org" })],
    ["application/x-www-form-urlencoded", new URLSearchParams({ ...ids, intent: "revoke", planCode: "pro" }).toString()],
  ];
}

type Finding = { request: string; status: number; why: string; body: string };

describe("every route as another organisation, and signed out: never A's data, never 5xx", () => {
  const callers: Record<string, () => Promise<Record<string, string>>> = {
    "signed out": async () => ({}),
    // A fresh session per route file: a walked sign-out must not turn the rest into signed-out calls.
    "org B's session": async () => ({ cookie: await signIn(app, b.orgId), origin: app.url }),
    "org B's API key": async () => ({ authorization: `Bearer ${b.key}` }),
  };

  for (const file of routeFiles) {
    test(file, async () => {
      const findings: Finding[] = [];
      const urls = urlsOf(file, { param: () => [aIdFor(file)], splat: [a.orgId] });
      const isApi = file.startsWith("api.");
      const targetsA = file.includes("$id");
      for (const [caller, headersOf] of Object.entries(callers)) {
        const auth = await headersOf();
        for (const url of urls)
          for (const method of METHODS) {
            const bodies: [string | null, BodyInit | null][] = method === "GET" ? [[null, null]] : bodiesAimedAt(a);
            for (const [type, body] of bodies) {
              const path = method === "GET" ? `${url}?orgId=${a.orgId}&keyId=${a.keyId}&customer=${a.customerId}` : url;
              const headers = { ...auth, ...(type ? { "content-type": type } : {}) };
              const r = await fetch(`${app.url}${path}`, { method, headers, body, redirect: "manual" });
              const text = await r.text();
              const request = `${method} ${path} ${type ?? ""} (${caller})`;
              const note = (why: string) => findings.push({ request, status: r.status, why, body: text.slice(0, 160) });
              if (r.status >= 500) note("5xx");
              // A page may echo its own URL (Remix's location, a sign-in redirect's next=): what B
              // sent, path and query, is not A's data shown.
              const query = path.slice(url.length);
              const sent = [query, query.replaceAll("&", "\\u0026"), query.replaceAll("&", "&amp;"), url, encodeURIComponent(url)];
              const unsent = (t: string) => sent.reduce((rest, q) => (q ? rest.split(q).join("") : rest), t);
              const shown = unsent(text);
              const leaked = secretsOf(a).filter((s) => shown.includes(s) || unsent(r.headers.get("location") ?? "").includes(s));
              if (leaked.length) note(`shows org A's ${leaked.join(", ")}`);
              if (!isApi) continue;
              if (r.status >= 400) {
                let envelope: { ok?: boolean; error?: { code?: unknown; message?: unknown; details?: unknown } } | null = null;
                try {
                  envelope = JSON.parse(text);
                } catch {}
                if (!(envelope?.ok === false && typeof envelope.error?.code === "string" && typeof envelope.error.details === "object"))
                  note("4xx outside the envelope");
              }
              if (caller === "signed out" && !PUBLIC_API.has(file) && ![401, 403, 404, 405].includes(r.status)) note("signed out, expected 401/403/404/405");
              if (caller !== "signed out" && targetsA && ![401, 403, 404, 405].includes(r.status)) note("A's resource, expected 401/403/404/405");
            }
          }
      }
      expect(findings).toEqual([]);
    }, 120_000);
  }

  test("afterwards org A's key, subscription, Stripe subscription and invoices are as they were", async () => {
    const quota = await fetch(`${app.url}/api/v1/quota`, { headers: { authorization: `Bearer ${a.key}` } });
    expect(quota.status).toBe(200);
    expect(((await quota.json()) as { data: { planCode: string } }).data.planCode).toBe("growth");
    expect(await mirror(a.orgId)).toMatchObject({ plan_code: "growth", status: "active", pending_plan_code: null, stripe_subscription_id: a.subscriptionId });
    const sub = await stripe.subscriptions.retrieve(a.subscriptionId);
    expect([sub.status, sub.schedule, sub.cancel_at_period_end, sub.items.data[0].price.unit_amount]).toEqual(["active", null, false, 9900]);
    expect((await stripe.invoices.list({ customer: a.customerId })).data.map((i) => i.id)).toEqual(a.invoiceIds);
    const [{ revoked }] = await sql<{ revoked: boolean }[]>`select revoked_at is not null as revoked from api_keys where id = ${a.keyId}`;
    expect(revoked).toBe(false);
  });

  test("afterwards org A's webhook endpoint and delivery are as they were, and A still sees them", async () => {
    expect(await webhookStateOf(a.orgId)).toEqual(aWebhooksBefore);
    const cookie = await signIn(app, a.orgId);
    const listed = await fetch(`${app.url}/api/v1/webhooks/endpoints`, { headers: { cookie } });
    expect(((await listed.json()) as { data: { endpoints: { id: string }[] } }).data.endpoints.map((e) => e.id)).toEqual([a.endpointId]);
    const deliveries = await fetch(`${app.url}/api/v1/webhooks/deliveries`, { headers: { cookie } });
    expect(((await deliveries.json()) as { data: { deliveries: { id: string; status: string }[] } }).data.deliveries).toMatchObject([
      { id: a.deliveryId, status: "failed" },
    ]);
  });

  test("the app is still up and logged no unexpected error", () => {
    expect(app.proc.exitCode).toBeNull();
    expect(app.logs.filter((l) => /"msg":"(unexpected error|unhandled error[^"]*)"/.test(l))).toEqual([]);
  });
});

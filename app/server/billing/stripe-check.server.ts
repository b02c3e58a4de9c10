// `ops stripe:check`: the configured Stripe account checked the way an operator would before going
// live. The key (mode, and whether it may read and write what the app uses: probed with requests
// for objects that do not exist, which change nothing), the webhook endpoint (the app's URL, enabled,
// every event type the app acts on), its signing secret, the billing portal configuration, and the
// prices (monthly and yearly) and every metered feature's meter against the catalog. Each line
// passes, warns or fails; a failure says the exact fix (a Dashboard path and the API request).
// Reads only: nothing is created or changed.
import { config } from "../platform/config.server";
import { sql } from "../platform/db.server";
import { LOCAL_WEBHOOK_SECRET } from "../platform/local-stripe";
import {
  type CheckArea,
  type CheckStatus,
  type CheckTarget,
  type Client,
  type Endpoint,
  errorKind,
  errorText,
  Lines,
  masked,
  type StripeCheckReport,
} from "./check-lines.server";
import { activeCatalog, configuredPriceId, listPlans } from "./plans.server";
import { stripe, usesTestClocks } from "./stripe.server";
import { checkMeters, checkOveragePrices, checkPortal, checkPrices, checkTopUpPrices } from "./stripe-check-catalog.server";
import { STRIPE_EVENT_TYPES, STRIPE_WEBHOOK_PATH } from "./webhook-events.server";

export function configuredTarget(): CheckTarget {
  return {
    client: stripe,
    mode: config.stripeMode,
    secretKey: config.STRIPE_SECRET_KEY ?? null,
    localUrl: config.STRIPE_SECRET_KEY ? null : `http://127.0.0.1:${config.STRIPE_LOCAL_PORT}`,
    webhookUrl: `${config.baseUrl}${STRIPE_WEBHOOK_PATH}`,
    webhookSecret: config.STRIPE_WEBHOOK_SECRET ?? null,
    baseUrlConfigured: Boolean(config.APP_BASE_URL),
    usesTestClocks,
    plans: listPlans(),
    configuredPriceIds: Object.fromEntries(
      listPlans().map((p) => [p.code, { month: configuredPriceId(p.code, "month"), year: configuredPriceId(p.code, "year") }]),
    ),
    meteredFeatures: Object.entries(activeCatalog().catalog.features)
      .filter(([, f]) => f.type === "metered")
      .map(([code, f]) => ({ code, unit: f.unit ?? "unit" }))
      .sort((a, b) => (a.code < b.code ? -1 : 1)),
  };
}

// ---- (d) the key: its mode, and what it may read and write ----------------------------------------

/** An id no object has: reading or changing it answers 404 when the key may, 403 when it may not. */
const NONE = "opsStripeCheckProbe";
type Probe = { resource: string; why: string; read?: (c: Client) => Promise<unknown>; write?: (c: Client) => Promise<unknown>; testOnly?: boolean };
const PROBES: Probe[] = [
  { resource: "Customers", why: "each org's customer", read: (c) => c.customers.retrieve(`cus_${NONE}`), write: (c) => c.customers.update(`cus_${NONE}`, {}) },
  {
    resource: "Subscriptions",
    why: "plans, upgrades, cancels",
    read: (c) => c.subscriptions.retrieve(`sub_${NONE}`),
    write: (c) => c.subscriptions.update(`sub_${NONE}`, {}),
  },
  {
    resource: "Subscription schedules",
    why: "scheduled downgrades",
    read: (c) => c.subscriptionSchedules.retrieve(`sub_sched_${NONE}`),
    write: (c) => c.subscriptionSchedules.update(`sub_sched_${NONE}`, {}),
  },
  { resource: "Invoices", why: "the invoice list", read: (c) => c.invoices.retrieve(`in_${NONE}`) },
  { resource: "Prices", why: "the plans' prices", read: (c) => c.prices.retrieve(`price_${NONE}`) },
  { resource: "Prices", why: "the plans' prices, created on first use in test mode", write: (c) => c.prices.update(`price_${NONE}`, {}), testOnly: true },
  {
    resource: "Checkout Sessions",
    why: "the first payment",
    read: (c) => c.checkout.sessions.retrieve(`cs_${NONE}`),
    write: (c) => c.checkout.sessions.expire(`cs_${NONE}`),
  },
  {
    resource: "Customer portal",
    why: "card updates, invoices, cancel",
    read: (c) => c.billingPortal.configurations.list({ limit: 1 }),
    write: (c) => c.billingPortal.sessions.create({ customer: `cus_${NONE}` }),
  },
  { resource: "Billing meters", why: "usage reporting and drift", read: (c) => c.billing.meters.list({ limit: 1 }) },
  { resource: "Webhook Endpoints", why: "this check", read: (c) => c.webhookEndpoints.list({ limit: 1 }) },
  { resource: "Events", why: "this check (deliveries)", read: (c) => c.events.retrieve(`evt_${NONE}`) },
  {
    resource: "Test clocks",
    why: "sandbox orgs and ops clock:advance",
    read: (c) => c.testHelpers.testClocks.retrieve(`clock_${NONE}`),
    write: (c) => c.testHelpers.testClocks.advance(`clock_${NONE}`, { frozen_time: 1 }),
    testOnly: true,
  },
];

/** The key's mode and permissions; false when nothing else can be checked (no such key, Stripe unreachable). */
async function checkKey(lines: Lines): Promise<boolean> {
  const t = lines.target;
  const restricted = t.secretKey?.startsWith("rk_") ?? false;
  const kind =
    t.mode === "local" ? "the local Stripe (no key configured)" : `${t.mode}-mode ${restricted ? "restricted" : "secret"} key ${masked(t.secretKey)}`;
  lines.pass("key", "mode", `${kind}${t.mode === "live" ? ": real charges" : ""}`);
  if (t.mode !== "local") await checkTestClocks(lines);
  const denied: string[] = [];
  const allowed: string[] = [];
  for (const probe of PROBES) {
    if (probe.testOnly && t.mode === "live") continue;
    for (const [access, call] of [
      ["read", probe.read],
      ["write", probe.write],
    ] as const) {
      if (!call) continue;
      try {
        await call(t.client);
        allowed.push(`${probe.resource} ${access}`);
      } catch (err) {
        const k = errorKind(err);
        if (k === "allowed") allowed.push(`${probe.resource} ${access}`);
        else if (k === "unreachable" || k === "auth") {
          const what = k === "auth" ? "Stripe refuses the key (revoked, expired or mistyped)" : `Stripe cannot be reached: ${errorText(err)}`;
          lines.fail("key", "access", `${what}; nothing else was checked`, [
            k === "auth"
              ? "Dashboard: Developers → API keys: copy the secret key (or create a restricted key), set STRIPE_SECRET_KEY"
              : "Check the network to api.stripe.com",
          ]);
          return false;
        } else if (k === "permission") {
          // Stripe's refusal names the permission the request needs.
          denied.push(`${probe.resource}: ${access} (${probe.why}): ${errorText(err)}`);
        } else {
          lines.warn("key", `${probe.resource} ${access}`, `unexpected answer to the probe: ${errorText(err)}`);
        }
      }
    }
  }
  if (denied.length === 0) lines.pass("key", "permissions", `may read and write what the app uses (${allowed.length} probes)`);
  else
    lines.fail("key", "permissions", `the key may not: ${denied.join("; ")}`, [
      "Dashboard: Developers → API keys → the restricted key → Edit: give each resource above the access named (Read or Write), save",
    ]);
  return true;
}

/** With a real key nothing may run on a test clock: a clock never moves by itself, and Stripe deletes it (and its customer) after a while. */
async function checkTestClocks(lines: Lines) {
  const t = lines.target;
  if (t.usesTestClocks)
    lines.fail(
      "key",
      "test clocks",
      `new orgs get a test clock with this ${t.mode}-mode key: their subscriptions never renew, trials never end, nothing is retried`,
      [
        "Test clocks belong to the local Stripe and the tests: turn them off for real keys (usesTestClocks, app/server/billing/stripe.server.ts), restart the app",
      ],
    );
  const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from organisations where stripe_test_clock_id is not null`;
  if (n > 0)
    lines.warn("key", "orgs on test clocks", `${n} org${n === 1 ? " is" : "s are"} on a test clock: ${n === 1 ? "it does" : "they do"} not move in real time`, [
      "Orgs made while clocks were on (or against another account) keep them: give each a customer without a clock, or start them again",
    ]);
  if (!t.usesTestClocks && n === 0) lines.pass("key", "test clocks", "no org is on a test clock: subscriptions move in real time");
}

// ---- (a) the webhook endpoint, (e) its secret -------------------------------------------------------

const sameUrl = (a: string, b: string) => {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return a === b;
  }
};

async function checkWebhook(lines: Lines): Promise<Endpoint | null> {
  const t = lines.target;
  const endpoints = await t.client.webhookEndpoints.list({ limit: 100 }).autoPagingToArray({ limit: 1000 });
  const ours = endpoints.filter((e) => sameUrl(e.url, t.webhookUrl));
  const createCall = lines.api("/v1/webhook_endpoints", { url: t.webhookUrl, enabled_events: STRIPE_EVENT_TYPES, api_version: lines.apiVersion });
  if (t.mode === "live" && !t.webhookUrl.startsWith("https://"))
    lines.fail("webhook", "https", `the app's webhook URL ${t.webhookUrl} is not HTTPS: Stripe sends live events to HTTPS URLs only`, [
      "Set APP_BASE_URL to the app's public https:// URL, then run the check again",
    ]);
  if (t.mode !== "local" && !t.baseUrlConfigured)
    lines.warn("webhook", "base URL", `APP_BASE_URL is not set: the app's URL is taken to be ${t.webhookUrl.replace(STRIPE_WEBHOOK_PATH, "")}`, [
      "Set APP_BASE_URL to the URL Stripe and customers reach the app at",
    ]);
  await checkReachable(lines);
  if (ours.length === 0) {
    const others = endpoints.map((e) => `${e.id} → ${e.url}`).join(", ");
    lines.fail("webhook", "endpoint", `no webhook endpoint sends to ${t.webhookUrl}${others ? ` (the account has: ${others})` : ""}`, [
      `Dashboard: Developers → Webhooks → Add destination: events from your account, snapshot payload, API version ${lines.apiVersion}, endpoint URL ${t.webhookUrl}, these events: ${STRIPE_EVENT_TYPES.join(", ")}; then set STRIPE_WEBHOOK_SECRET to its signing secret`,
      createCall,
    ]);
    return null;
  }
  const missingTypes = (e: Endpoint) => STRIPE_EVENT_TYPES.filter((type) => !e.enabled_events.includes("*") && !e.enabled_events.includes(type));
  const best = ours.find((e) => e.status === "enabled" && missingTypes(e).length === 0) ?? ours.find((e) => e.status === "enabled") ?? ours[0];
  if (best.status !== "enabled") {
    lines.fail("webhook", "endpoint", `${best.id} → ${best.url} is disabled: Stripe sends it nothing`, [
      `Dashboard: Developers → Webhooks → ${best.id} → ⋯ → Enable`,
      lines.api(`/v1/webhook_endpoints/${best.id}`, { disabled: false }),
    ]);
    return best;
  }
  const missing = missingTypes(best);
  if (missing.length > 0) {
    lines.fail("webhook", "event types", `${best.id} does not send ${missing.join(", ")}`, [
      `Dashboard: Developers → Webhooks → ${best.id} → Edit destination → add ${missing.join(", ")}`,
      // An update replaces the list: send the whole of it.
      lines.api(`/v1/webhook_endpoints/${best.id}`, { enabled_events: [...best.enabled_events, ...missing] }),
    ]);
  } else {
    const which = best.enabled_events.includes("*") ? "every event type (*), so" : "";
    lines.pass(
      "webhook",
      "endpoint",
      `${best.id} → ${best.url} is enabled and sends ${which}${which ? " " : ""}the ${STRIPE_EVENT_TYPES.length} event types the app acts on`,
    );
  }
  if (best.api_version && best.api_version !== lines.apiVersion)
    lines.warn("webhook", "API version", `${best.id} renders events as ${best.api_version}; the app's stripe package is pinned to ${lines.apiVersion}`, [
      "The app reads only ids and types from an event, so this works; when you next create the endpoint, give it the pinned version (it cannot be changed later)",
    ]);
  if (ours.filter((e) => e.status === "enabled").length > 1)
    lines.warn("webhook", "duplicates", `${ours.length} endpoints send to ${t.webhookUrl}: every event arrives more than once (the app stores each once)`, [
      "Delete the extra ones: Dashboard: Developers → Webhooks",
    ]);
  return best;
}

/** The app's route answers an unsigned delivery with 400: it is there, and checks signatures. */
async function checkReachable(lines: Lines) {
  const url = lines.target.webhookUrl;
  try {
    const r = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": "t=0,v1=0" },
      body: "{}",
      signal: AbortSignal.timeout(5000),
    });
    await r.arrayBuffer();
    if (r.status === 400) lines.pass("webhook", "reachable", `${url} answers an unsigned delivery with 400, as the app does`);
    else
      lines.fail("webhook", "reachable", `${url} answers ${r.status} to a delivery (the app answers 400 to an unsigned one)`, [
        "Check APP_BASE_URL and the proxy in front of the app",
      ]);
  } catch (err) {
    lines.warn("webhook", "reachable", `${url} could not be reached from here (${errorText(err)}); Stripe must reach it`, [
      "Run the check where the app runs, or make sure the URL is public",
    ]);
  }
}

async function checkSecret(lines: Lines, endpoint: Endpoint | null) {
  const t = lines.target;
  if (t.mode === "local") lines.pass("secret", "signing secret", "the local Stripe signs with the local secret, which the app uses without STRIPE_SECRET_KEY");
  else if (!t.webhookSecret)
    lines.fail("secret", "signing secret", "STRIPE_WEBHOOK_SECRET is not set: the app refuses every delivery", [
      `Dashboard: Developers → Webhooks → ${endpoint?.id ?? "the endpoint"} → Signing secret → Reveal; set STRIPE_WEBHOOK_SECRET to it and restart the app`,
    ]);
  else if (t.webhookSecret === LOCAL_WEBHOOK_SECRET || !/^whsec_[A-Za-z0-9+/=]+$/.test(t.webhookSecret))
    lines.fail("secret", "signing secret", "STRIPE_WEBHOOK_SECRET is the local Stripe's (public) secret or not a whsec_… secret", [
      `Dashboard: Developers → Webhooks → ${endpoint?.id ?? "the endpoint"} → Signing secret → Reveal; set STRIPE_WEBHOOK_SECRET to it and restart the app`,
    ]);
  else lines.pass("secret", "signing secret", `STRIPE_WEBHOOK_SECRET is set (${masked(t.webhookSecret)})`);
  if (endpoint) await checkDeliveries(lines, endpoint);
}

/**
 * Stripe cannot tell the endpoint's secret, but its deliveries can: an event of a type the app
 * acts on, created since the endpoint exists and older than the grace, that the app never stored
 * went unanswered or was refused (a secret that is not the endpoint's is refused with 400).
 */
async function checkDeliveries(lines: Lines, endpoint: Endpoint) {
  const t = lines.target;
  const now = Math.floor(Date.now() / 1000);
  const grace = t.deliveryGraceSeconds ?? 600;
  const since = Math.max(endpoint.created, now - 3 * 86_400);
  const recent = await t.client.events.list({ created: { gte: since }, limit: 100 });
  const wanted = new Set<string>(STRIPE_EVENT_TYPES);
  const relevant = recent.data.filter((e) => wanted.has(e.type));
  if (relevant.length === 0) {
    lines.pass("secret", "deliveries", "no event to confirm the secret with yet: run the check again after the first checkout");
    return;
  }
  const ids = relevant.map((e) => e.id);
  const stored = new Set((await sql<{ id: string }[]>`select id from stripe_events where id = any(${ids})`).map((r) => r.id));
  const lost = relevant.filter((e) => !stored.has(e.id) && e.created <= now - grace);
  if (lost.length === 0) {
    const received =
      stored.size === relevant.length ? `all ${relevant.length}` : `${stored.size} of the ${relevant.length} (the others are still within delivery time)`;
    if (stored.size > 0) lines.pass("secret", "deliveries", `the app received ${received} recent events of the types it acts on: the secret is the endpoint's`);
    else
      lines.pass(
        "secret",
        "deliveries",
        `the ${relevant.length} recent events are still being delivered: run the check again in a few minutes to confirm the secret`,
      );
    return;
  }
  const due = relevant.filter((e) => e.created <= now - grace);
  const pending = lost.filter((e) => e.pending_webhooks > 0);
  const sample = lost
    .slice(0, 3)
    .map((e) => `${e.id} (${e.type})`)
    .join(", ");
  lines.fail(
    "secret",
    "deliveries",
    `${lost.length} of the ${due.length} recent events the app acts on never reached its database, e.g. ${sample}; ${pending.length ? `${pending.length} still undelivered at Stripe: the endpoint's signing secret is not STRIPE_WEBHOOK_SECRET (the app refuses a bad signature with 400), or its URL does not reach this app` : "Stripe has none of them pending: they went to another app's database, or were made while the endpoint was disabled"}`,
    [
      `Dashboard: Developers → Webhooks → ${endpoint.id}: look at the failed deliveries; Signing secret → Reveal, set STRIPE_WEBHOOK_SECRET to it, restart the app`,
      `Then resend what was lost: Dashboard → the event → Resend, or \`stripe events resend <evt_…> --webhook-endpoint=${endpoint.id}\``,
    ],
  );
}

// ---- the run ----------------------------------------------------------------------------------------

/** Runs every check against the target (by default the configured account). */
export async function checkStripeAccount(target: CheckTarget = configuredTarget()): Promise<StripeCheckReport> {
  const lines = new Lines(target);
  if (await checkKey(lines)) {
    const sections: [CheckArea, string, () => Promise<void>][] = [
      ["webhook", "webhook endpoints", async () => checkSecret(lines, await checkWebhook(lines))],
      ["portal", "billing portal configurations", () => checkPortal(lines)],
      ["catalog", "prices", () => checkPrices(lines)],
      ["catalog", "meters", () => checkMeters(lines)],
      ["catalog", "overage prices", () => checkOveragePrices(lines)],
      ["catalog", "top-up prices", () => checkTopUpPrices(lines)],
    ];
    for (const [area, what, run] of sections) {
      try {
        await run();
      } catch (err) {
        lines.fail(area, what, `could not read the ${what}: ${errorText(err)}`, ["See the key's permissions above"]);
      }
    }
  }
  const count = (s: CheckStatus) => lines.all.filter((l) => l.status === s).length;
  return {
    ok: count("fail") === 0,
    mode: target.mode,
    key: masked(target.secretKey),
    passed: count("pass"),
    warnings: count("warn"),
    failures: count("fail"),
    lines: lines.all,
  };
}

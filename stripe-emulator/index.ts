// The local Stripe: a stateful HTTP server speaking the part of Stripe's REST API this system
// uses, so the official `stripe` SDK works against it (host/port/protocol). State lives in its
// own Postgres schema and survives restarts; webhooks are signed and retried like Stripe's.
import type Stripe from "stripe";
import { Account, DECLINED_AT_ATTACH, DEFAULT_DUNNING, type Dunning, FAILS_EVERY_CHARGE, StripeError } from "./account";
import { handleApi } from "./api";
import { attachPaymentMethod } from "./customers";
import { API_VERSION, type DeliveryChaos, Events } from "./events";
import { canonicalParams, parseForm } from "./form";
import { chargeInvoice } from "./invoices";
import { defaultAggregationLagMs, setAggregationLag } from "./meters";
import { checkoutPage, invoicePage, invoicePdf, portalPage } from "./pages";
import { ParamRefused } from "./params";
import type { Params } from "./route";
import { customerDetails, publicSession } from "./sessions";
import { Store } from "./store";
import { createSubscription } from "./subscriptions";
import { registerStartEndpoint } from "./webhook-endpoints";

export type StripeLocalOptions = {
  port: number;
  hostname?: string;
  databaseUrl: string;
  schema?: string;
  publicUrl?: string;
  /** The webhook endpoint registered at start: its URL, signing secret and event types (default `*`). */
  webhook?: { url: string; secret: string; events?: readonly string[] };
  retrySchedule?: number[];
  /** How long meter events take to count in summaries (default: `STRIPE_LOCAL_METER_LAG_SECONDS`, else 5 s). */
  meterLagMs?: number;
  /** The account's failed-payment settings (retries, then cancel or unpaid). */
  dunning?: Dunning;
  log?: (line: string) => void;
  /** Tests only: deliver some events twice and out of order, as Stripe may. */
  deliveryChaos?: DeliveryChaos;
};

// Every response names the API version it was rendered with, as Stripe's do.
const headers = () => ({ "request-id": `req_${crypto.randomUUID().slice(0, 14)}`, "stripe-version": API_VERSION });

const stripeError = (e: StripeError) => Response.json({ error: { type: e.type, message: e.message, ...e.extra } }, { status: e.status, headers: headers() });

/** The key as Stripe takes it: Bearer, or Basic with the key as the user name (`curl -u sk_test_…:`). */
function bearerOf(header: string): string {
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
  if (!basic) return header;
  try {
    return `Bearer ${atob(basic[1]).replace(/:$/, "")}`;
  } catch {
    return header;
  }
}

export async function startStripeLocal(opts: StripeLocalOptions) {
  const log = opts.log ?? (() => {});
  // Random per start, answered by /health: whoever started it can tell it from another one.
  const instanceId = `inst_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const store = new Store(opts.databaseUrl, opts.schema ?? "stripe_local");
  await store.init();
  setAggregationLag(store, opts.meterLagMs ?? defaultAggregationLagMs());
  // The app's endpoint, as an operator registers it on a real account (webhook-endpoints.ts).
  if (opts.webhook) await registerStartEndpoint(store, opts.webhook);
  const events = new Events(store, opts.retrySchedule ?? [1000, 5000, 30_000, 60_000, 300_000, 3_600_000], log, opts.deliveryChaos);
  let account: Account;
  // Idempotency keys whose first request is still running, and a test switch that holds requests.
  const inFlight = new Set<string>();
  let hold: Promise<void> = Promise.resolve();

  async function api(request: Request, url: URL): Promise<Response> {
    const auth = bearerOf(request.headers.get("authorization") ?? "");
    if (!/^Bearer sk_test_[A-Za-z0-9_]+$/.test(auth)) {
      return stripeError(
        new StripeError(
          401,
          "invalid_request_error",
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth.",
        ),
      );
    }
    const body = request.method === "GET" || request.method === "DELETE" ? url.search.slice(1) : await request.text();
    const params = parseForm(body);
    const idemKey = request.method === "POST" ? request.headers.get("idempotency-key") : null;
    // A clock's status is readable while it advances, as Stripe's is; everything else waits its turn.
    if (request.method === "GET" && url.pathname.startsWith("/v1/test_helpers/test_clocks/")) return (await run("GET", url.pathname, params)).response;
    if (!idemKey) return store.exclusive(async () => (await run(request.method, url.pathname, params)).response);
    // Stripe answers 409 to a request whose key is still being processed by another one.
    if (inFlight.has(idemKey)) {
      return stripeError(
        new StripeError(409, "idempotency_error", "There is currently another in-progress request using this Stripe-Idempotency-Key. Please try again later."),
      );
    }
    inFlight.add(idemKey);
    try {
      await hold;
      // Stripe compares the parameters (and the endpoint), not the bytes that carried them.
      const fingerprint = `${request.method} ${url.pathname} ${canonicalParams(params)}`;
      return await store.exclusive(() => idempotent(idemKey, fingerprint, request.method, url.pathname, params));
    } finally {
      inFlight.delete(idemKey);
    }
  }

  /** Replays the result saved under `key`, or runs the request and saves it (unless refused by validation). */
  async function idempotent(key: string, fingerprint: string, method: string, path: string, params: Params): Promise<Response> {
    const [seen] = await store.sql<{ fingerprint: string; status: number; body: string }[]>`
      select fingerprint, status, body from idempotency where key = ${key} and created_at > now() - interval '24 hours'`;
    if (seen && seen.fingerprint !== fingerprint) {
      return stripeError(
        new StripeError(
          400,
          "idempotency_error",
          `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        ),
      );
    }
    if (seen)
      return new Response(seen.body, { status: seen.status, headers: { ...headers(), "content-type": "application/json", "idempotent-replayed": "true" } });
    const { response, save } = await run(method, path, params);
    if (save) {
      const text = await response.clone().text();
      await store.sql`insert into idempotency (key, fingerprint, status, body) values (${key}, ${fingerprint}, ${response.status}, ${text})
                      on conflict (key) do update set fingerprint = excluded.fingerprint, status = excluded.status, body = excluded.body, created_at = now()`;
    }
    return response;
  }

  /** Runs one API request; `save` is false when it was refused before its handler ran (Stripe keeps no result then). */
  async function run(method: string, path: string, params: Params): Promise<{ response: Response; save: boolean }> {
    try {
      return { response: Response.json(await handleApi(account, method, path, params), { headers: headers() }), save: true };
    } catch (err) {
      if (err instanceof StripeError) return { response: stripeError(err), save: !(err instanceof ParamRefused) };
      log(`internal error on ${method} ${path}: ${(err as Error).stack}`);
      // Stripe keeps a 500 under its key too: the retry answers the same.
      return { response: stripeError(new StripeError(500, "api_error", "An unknown error occurred in the local Stripe.")), save: true };
    }
  }

  /** Paying on the hosted Checkout page: card → customer's default method → subscription. */
  async function payCheckout(id: string, form: FormData): Promise<Response> {
    return store.exclusive(async () => {
      const s = await store.get<any>(id);
      if (s?.status !== "open") return checkoutPage(account, id);
      const card = String(form.get("card") ?? "").replace(/\s+/g, "");
      if (!/^\d{12,19}$/.test(card)) return checkoutPage(account, id, "Your card number is incomplete.");
      const trial = Boolean(s.subscription_data?.trial_period_days);
      // Checkout charges the first invoice on the page: a card that fails charges is declined here, unless nothing is due yet.
      if (DECLINED_AT_ATTACH.has(card) || (!trial && FAILS_EVERY_CHARGE.has(card))) return checkoutPage(account, id, "Your card was declined.");
      let customerId: string = s.customer;
      if (!customerId) {
        const email = String(form.get("email") ?? "");
        if (!email.includes("@")) return checkoutPage(account, id, "Enter your email.");
        customerId = ((await handleApi(account, "POST", "/v1/customers", { email })) as Stripe.Customer).id;
      }
      const token = FAILS_EVERY_CHARGE.has(card) ? "pm_card_chargeCustomerFail" : "pm_card_visa";
      const pm = (await handleApi(account, "POST", `/v1/payment_methods/${token}/attach`, { customer: customerId })) as Stripe.PaymentMethod;
      await handleApi(account, "POST", `/v1/customers/${customerId}`, { invoice_settings: { default_payment_method: pm.id } });
      const sub = await createSubscription(account, {
        customer: customerId,
        price: s.line_items_price,
        trialDays: s.subscription_data?.trial_period_days ?? undefined,
        paymentMethod: pm.id,
        metadata: s.subscription_data?.metadata ?? {},
      });
      const now = await account.nowFor(customerId);
      const customer = (await store.get<Stripe.Customer>(customerId))!;
      Object.assign(s, {
        status: "complete",
        payment_status: trial ? "no_payment_required" : "paid",
        customer: customerId,
        customer_details: customerDetails(customer.email),
        subscription: sub.id,
      });
      await store.put(s);
      await events.emit("checkout.session.completed", publicSession(s), now);
      const to = String(s.success_url ?? "/").replace("{CHECKOUT_SESSION_ID}", id);
      return new Response(null, { status: 303, headers: { location: to } });
    });
  }

  async function portalAction(id: string, form: FormData): Promise<Response> {
    return store.exclusive(async () => {
      const session = await store.get<Stripe.BillingPortal.Session>(id);
      if (!session) return portalPage(account, id);
      const customerId = session.customer as string;
      const [sub] = await store.list<Stripe.Subscription>(
        "subscription",
        (x) => x.customer === customerId && !["canceled", "incomplete_expired"].includes(x.status),
      );
      const action = form.get("action");
      try {
        if (action === "card") return await updateCard(customerId, sub, String(form.get("card") ?? "").replace(/\s+/g, ""), id);
        if (sub) await handleApi(account, "POST", `/v1/subscriptions/${sub.id}`, { cancel_at_period_end: action === "cancel" ? "true" : "false" });
      } catch (err) {
        if (err instanceof StripeError) return portalPage(account, id, undefined, err.message);
        throw err;
      }
      return portalPage(account, id, action === "cancel" ? "Your plan will be canceled at the end of the period." : "Your plan will renew.");
    });
  }

  /** A new default card; an open invoice of the subscription is charged again with it at once. */
  async function updateCard(customerId: string, sub: Stripe.Subscription | undefined, card: string, sessionId: string): Promise<Response> {
    if (!/^\d{12,19}$/.test(card)) return portalPage(account, sessionId, undefined, "Your card number is incomplete.");
    const token = DECLINED_AT_ATTACH.has(card) ? "pm_card_chargeDeclined" : FAILS_EVERY_CHARGE.has(card) ? "pm_card_chargeCustomerFail" : "pm_card_visa";
    const pm = await attachPaymentMethod(account, token, customerId);
    await handleApi(account, "POST", `/v1/customers/${customerId}`, { invoice_settings: { default_payment_method: pm.id } });
    if (sub) {
      await handleApi(account, "POST", `/v1/subscriptions/${sub.id}`, { default_payment_method: pm.id });
      const now = await account.nowFor(customerId);
      const open = await store.list<Stripe.Invoice>("invoice", (i) => i.parent?.subscription_details?.subscription === sub.id && i.status === "open");
      for (const invoice of open)
        if (!(await chargeInvoice(account, invoice, now))) return portalPage(account, sessionId, undefined, "Your card was declined.");
    }
    return portalPage(account, sessionId, "Your card was updated.");
  }

  const server = Bun.serve({
    hostname: opts.hostname ?? "127.0.0.1",
    port: opts.port,
    async fetch(request) {
      const url = new URL(request.url);
      const p = url.pathname;
      if (p.startsWith("/v1/")) return api(request, url);
      const post = request.method === "POST";
      const [, page, id, pdf] = /^\/(checkout|portal|invoice)\/(\w+)(\/pdf)?$/.exec(p) ?? [];
      if (page === "checkout" && !pdf) return post ? payCheckout(id, await request.formData()) : checkoutPage(account, id);
      if (page === "portal" && !pdf) return post ? portalAction(id, await request.formData()) : portalPage(account, id);
      if (page === "invoice") return pdf ? invoicePdf(account, id) : invoicePage(account, id);
      if (p === "/health") return Response.json({ ok: true, instanceId });
      return new Response("Not found", { status: 404 });
    },
  });
  const url = `http://${server.hostname}:${server.port}`;
  account = new Account(store, events, opts.publicUrl ?? url, opts.dunning ?? DEFAULT_DUNNING);
  events.start();
  log(`local Stripe listening on ${url} (instance ${instanceId})`);

  return {
    url,
    instanceId,
    port: server.port as number,
    /** Changes how long meter events take to count in summaries (tests). */
    setMeterLag(ms: number) {
      setAggregationLag(store, ms);
    },
    /** Resolves when every queued webhook has been delivered. */
    async flushWebhooks(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while ((await events.pending()) > 0) {
        if (Date.now() > deadline) throw new Error("webhooks still pending");
        await Bun.sleep(20);
      }
    },
    /** Holds every idempotent request until the returned function is called (tests of concurrent requests). */
    holdRequests(): () => void {
      let release = () => {};
      hold = new Promise((resolve) => {
        release = resolve;
      });
      return release;
    },
    /** Changes the account's failed-payment settings, as the Dashboard would. */
    setDunning(dunning: Dunning) {
      account.dunning = dunning;
    },
    async stop() {
      events.stop();
      await server.stop(true);
      await store.close();
    },
  };
}

export type StripeLocal = Awaited<ReturnType<typeof startStripeLocal>>;

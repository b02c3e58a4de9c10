// The local Stripe: a stateful HTTP server speaking the part of Stripe's REST API this system
// uses, so the official `stripe` SDK works against it (host/port/protocol). State lives in its
// own Postgres schema and survives restarts; webhooks are signed and retried like Stripe's.
import type Stripe from "stripe";
import { Account, cardCharges, DECLINED_AT_ATTACH, DEFAULT_DUNNING, type Dunning, FAILS_EVERY_CHARGE, StripeError } from "./account";
import { handleApi } from "./api";
import { API_VERSION, type DeliveryChaos, type DeliveryMode, Events, SANDBOX_RETRY_SCHEDULE } from "./events";
import { type FaultOptions, type FaultSwitch, Faults, masked, type StripeFault } from "./faults";
import { canonicalParams, parseForm } from "./form";
import { payInvoiceOnPage } from "./invoice-payment";
import { defaultAggregationLagMs, setAggregationLag } from "./meters";
import { checkoutPage, invoicePage, invoicePdf, portalPage } from "./pages";
import { ParamRefused } from "./params";
import { portalAction } from "./portal";
import { saveDefaultConfiguration } from "./portal-configurations";
import type { Params } from "./route";
import { customerDetails, expireDueSessions, expireIfDue, publicSession } from "./sessions";
import { Store } from "./store";
import { createSubscription } from "./subscriptions";
import { deleteExpiredTestClocks, setTestClockLifetime, TEST_CLOCK_LIFETIME_SECONDS, testClockLifetime } from "./test-clocks";
import { registerStartEndpoint } from "./webhook-endpoints";

export type StripeLocalOptions = {
  port: number;
  hostname?: string;
  databaseUrl: string;
  schema?: string;
  publicUrl?: string;
  /** The webhook endpoint registered at start: its URL, signing secret and event types (default `*`). */
  webhook?: { url: string; secret: string; events?: readonly string[] };
  /** The waits (ms) of a failed delivery's retries, after which it is given up (default: Stripe's sandbox, three over a few hours). */
  retrySchedule?: readonly number[];
  /** How long meter events take to count in summaries (default: `STRIPE_LOCAL_METER_LAG_SECONDS`, else 5 s). */
  meterLagMs?: number;
  /** The account's failed-payment settings (retries, then cancel or unpaid). */
  dunning?: Dunning;
  log?: (line: string) => void;
  /** Tests only: deliver some events twice and out of order, as Stripe may. */
  deliveryChaos?: DeliveryChaos;
  /** Tests only: sees every /v1 request and its answer (the contract test holds them to Stripe's API description). */
  record?: (exchange: Exchange) => void;
  /** How long a test clock lives before it is deleted with its objects (default: Stripe's 7 days). */
  testClockLifetimeSeconds?: number;
};

/** One /v1 request as the local Stripe received it (form decoded) and the answer it gave. */
export type Exchange = { method: string; path: string; params: Params; status: number; body: unknown };

// Every response names the API version it was rendered with, as Stripe's do.
const headers = () => ({ "request-id": `req_${crypto.randomUUID().slice(0, 14)}`, "stripe-version": API_VERSION });

const stripeError = (e: StripeError) =>
  Response.json(
    { error: { type: e.type, message: e.message, ...e.extra } },
    // As Stripe's 401s: the scheme the key goes in.
    { status: e.status, headers: e.status === 401 ? { ...headers(), "www-authenticate": 'Basic realm="Stripe"' } : headers() },
  );

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
  setTestClockLifetime(store, opts.testClockLifetimeSeconds ?? TEST_CLOCK_LIFETIME_SECONDS);
  // The app's endpoint, as an operator registers it on a real account (webhook-endpoints.ts).
  if (opts.webhook) await registerStartEndpoint(store, opts.webhook);
  const events = new Events(store, opts.retrySchedule ?? SANDBOX_RETRY_SCHEDULE, log, opts.deliveryChaos);
  let account: Account;
  // Idempotency keys whose first request is still running, and a test switch that holds requests.
  const inFlight = new Set<string>();
  let hold: Promise<void> = Promise.resolve();
  // Test switches: refusals as Stripe answers them when busy or when the key is wrong (faults.ts).
  const faults = new Faults();

  async function api(request: Request, url: URL): Promise<Response> {
    if (!opts.record) return answer(request, url);
    const params = parseForm(request.method === "GET" || request.method === "DELETE" ? url.search.slice(1) : await request.clone().text());
    const response = await answer(request, url);
    opts.record({ method: request.method, path: url.pathname, params, status: response.status, body: await response.clone().json() });
    return response;
  }

  async function answer(request: Request, url: URL): Promise<Response> {
    const auth = bearerOf(request.headers.get("authorization") ?? "");
    const key = /^Bearer (\S+)$/.exec(auth)?.[1];
    if (!key)
      return stripeError(
        new StripeError(
          401,
          "invalid_request_error",
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth.",
        ),
      );
    // The local Stripe takes any test-mode secret key; another key is refused as Stripe refuses a wrong one.
    if (!/^sk_test_[A-Za-z0-9_]+$/.test(key)) return stripeError(new StripeError(401, "invalid_request_error", `Invalid API Key provided: ${masked(key)}`));
    const body = request.method === "GET" || request.method === "DELETE" ? url.search.slice(1) : await request.text();
    const params = parseForm(body);
    await faults.held(request.method, url.pathname, params);
    const refused = faults.answer(request.method, url.pathname, params, auth, headers());
    if (refused) return refused;
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
      // A session past its `expires_at` is expired now, and cannot be paid.
      await expireIfDue(account, s);
      if (s?.status !== "open") return checkoutPage(account, id);
      const card = String(form.get("card") ?? "").replace(/\s+/g, "");
      if (!/^\d{12,19}$/.test(card)) return checkoutPage(account, id, "Your card number is incomplete.");
      if (s.mode === "payment") return payOnce(s, card);
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
        // Sessions stored before Checkout took several line items named one price.
        prices: await Promise.all((s.line_items_prices ?? [s.line_items_price]).map((id: string) => account.price(id))),
        trialDays: s.subscription_data?.trial_period_days ?? undefined,
        paymentMethod: pm.id,
        metadata: s.subscription_data?.metadata ?? {},
        // A session saved before its mode was recorded was made classic.
        billingMode: s.subscription_data?.billing_mode ?? { type: "classic", flexible: null },
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

  /**
   * A payment-mode session paid on its page: the card is charged once (a declined card, or one
   * that fails every charge, is refused on the page and nothing changes), the session completes
   * `paid` and `checkout.session.completed` is sent. The card is not saved to the customer (the
   * app asks for no `setup_future_usage`). Called inside the store's exclusive section.
   */
  async function payOnce(s: any, card: string): Promise<Response> {
    if (!cardCharges(card)) return checkoutPage(account, s.id, "Your card was declined.");
    if (!s.customer) return checkoutPage(account, s.id, "The local Stripe takes payment-mode Checkout for an existing customer only.");
    const customer = (await store.get<Stripe.Customer>(s.customer))!;
    Object.assign(s, { status: "complete", payment_status: "paid", customer_details: customerDetails(customer.email) });
    await store.put(s);
    await events.emit("checkout.session.completed", publicSession(s), await account.nowFor(s.customer));
    const to = String(s.success_url ?? "/").replace("{CHECKOUT_SESSION_ID}", s.id);
    return new Response(null, { status: 303, headers: { location: to } });
  }

  const server = Bun.serve({
    hostname: opts.hostname ?? "127.0.0.1",
    port: opts.port,
    async fetch(request) {
      const url = new URL(request.url);
      const p = url.pathname;
      if (p.startsWith("/v1/")) return api(request, url);
      const [, page, id, pdf] = /^\/(checkout|portal|invoice)\/(\w+)(\/pdf)?$/.exec(p) ?? [];
      // A hosted page's post is a form, as a browser sends it; anything else is refused, as Stripe's pages do.
      const form = page && !pdf && request.method === "POST" ? await request.formData().catch(() => "unreadable" as const) : null;
      if (form === "unreadable") return new Response("The form could not be read.", { status: 400 });
      if (page === "checkout" && !pdf) return form ? payCheckout(id, form) : checkoutPage(account, id);
      if (page === "portal" && !pdf) return form ? store.exclusive(() => portalAction(account, id, form)) : portalPage(account, id);
      if (page === "invoice" && pdf) return invoicePdf(account, id);
      if (page === "invoice") return form ? store.exclusive(() => payInvoiceOnPage(account, id, form)) : invoicePage(account, id);
      if (p === "/health") return Response.json({ ok: true, instanceId });
      return new Response("Not found", { status: 404 });
    },
    // Never Bun's error page (a stack and file paths): the error goes to this process's log.
    error(err) {
      log(`request failed: ${err.stack ?? err.message}`);
      return new Response("Something went wrong on the local Stripe.", { status: 500 });
    },
  });
  const url = `http://${server.hostname}:${server.port}`;
  account = new Account(store, events, opts.publicUrl ?? url, opts.dunning ?? DEFAULT_DUNNING);
  events.start();
  // Stripe expires a Checkout session at its `expires_at` by itself (test clocks do it as they advance).
  const sweep = setInterval(
    () => void store.exclusive(() => expireDueSessions(account)).catch((err: Error) => log(`session expiry failed: ${err.stack}`)),
    60_000,
  );
  // Stripe deletes clocks whose deletes_after has come: checked a few times per lifetime, at least every minute.
  const clockSweep = setInterval(
    () => void store.exclusive(() => deleteExpiredTestClocks(account)).catch((err: Error) => log(`test clock deletion: ${err.message}`)),
    Math.min(60_000, Math.max(100, testClockLifetime(store) * 250)),
  );
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
    /** Pauses webhook deliveries (held, sent once `on`) or drops them (lost, as for a disabled endpoint): tests of lost events. */
    setDeliveries(mode: DeliveryMode) {
      events.mode = mode;
    },
    /** Saves the billing portal's settings as the Dashboard would: the account's default configuration. */
    saveDefaultPortalConfiguration(features: Stripe.BillingPortal.ConfigurationCreateParams.Features) {
      return store.exclusive(() => saveDefaultConfiguration(account, features));
    },
    /**
     * Refuses matching /v1 requests as Stripe does when busy or when the key is wrong (429
     * `rate_limit` / `lock_timeout`, 401, 403, or an error a test spells out) until cleared.
     */
    failRequests(fault: StripeFault, options?: FaultOptions): FaultSwitch {
      return faults.add(fault, options);
    },
    /**
     * Holds matching /v1 requests unanswered, as a Stripe that stopped answering, until cleared;
     * then the held requests run (late). `hits` counts the requests it held.
     */
    hangRequests(options?: FaultOptions): FaultSwitch {
      return faults.hang(options);
    },
    /** Changes the account's failed-payment settings, as the Dashboard would. */
    setDunning(dunning: Dunning) {
      account.dunning = dunning;
    },
    async stop() {
      clearInterval(sweep);
      clearInterval(clockSweep);
      events.stop();
      await server.stop(true);
      await store.close();
    },
  };
}

export type StripeLocal = Awaited<ReturnType<typeof startStripeLocal>>;

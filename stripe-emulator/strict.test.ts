// The local Stripe refuses what Stripe refuses, with Stripe's error objects, and keeps
// idempotency keys the way Stripe does.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import { type StripeLocal, startStripeLocal } from "./index";

let local: StripeLocal;
let stripe: Stripe;

beforeAll(async () => {
  local = await startStripeLocal({ port: 0, databaseUrl: process.env.DATABASE_URL!, schema: "stripe_strict_test" });
  stripe = new Stripe("sk_test_strict", { host: "127.0.0.1", port: local.port, protocol: "http", maxNetworkRetries: 0 });
});
afterAll(async () => {
  await local.stop();
});

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => null as never,
    (err: Stripe.errors.StripeError) => err,
  );

async function subscribed() {
  const price = await stripe.prices.create({ currency: "usd", unit_amount: 1000, recurring: { interval: "month" }, product_data: { name: "Strict" } });
  const customer = await stripe.customers.create({
    email: "strict@example.com",
    payment_method: "pm_card_visa",
    invoice_settings: { default_payment_method: "pm_card_visa" },
  });
  const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
  const sub = await stripe.subscriptions.create({
    billing_mode: { type: "classic" },
    customer: customer.id,
    items: [{ price: price.id }],
    default_payment_method: pm.id,
  });
  return { price, customer, sub };
}

describe("parameters are checked like Stripe checks them", () => {
  test("an unknown parameter is refused with parameter_unknown, naming it", async () => {
    const err = await refusal(stripe.customers.create({ email: "x@example.com", colour: "red" } as never));
    expect(err.statusCode).toBe(400);
    expect(err.type).toBe("StripeInvalidRequestError");
    expect(err.code).toBe("parameter_unknown");
    expect(err.param).toBe("colour");
    expect(err.message).toBe("Received unknown parameter: colour");
    expect(err.doc_url).toBe("https://stripe.com/docs/error-codes/parameter-unknown");
  });

  test("an unknown nested parameter is named by its form path", async () => {
    const err = await refusal(stripe.customers.create({ invoice_settings: { default_payment_method: "pm_x", colour: "red" } } as never));
    expect([err.statusCode, err.code, err.param]).toEqual([400, "parameter_unknown", "invoice_settings[colour]"]);
  });

  test("a value outside an enum is refused with parameter_invalid_string and the allowed values", async () => {
    const { sub } = await subscribed();
    const err = await refusal(stripe.subscriptions.update(sub.id, { proration_behavior: "bogus" as never }));
    expect([err.statusCode, err.code, err.param]).toEqual([400, "parameter_invalid_string", "proration_behavior"]);
    expect(err.message).toBe("Invalid proration_behavior: must be one of create_prorations, none, or always_invoice");
    expect(err.doc_url).toBe("https://stripe.com/docs/error-codes/parameter-invalid-string");
  });

  test("a limit over 100 is refused with parameter_invalid_integer", async () => {
    const err = await refusal(stripe.invoices.list({ limit: 101 }));
    expect([err.statusCode, err.code, err.param]).toEqual([400, "parameter_invalid_integer", "limit"]);
    expect(err.message).toBe("Invalid limit: must be at most 100");
  });

  test("a non-integer where an integer belongs is refused with parameter_invalid_integer", async () => {
    const err = await refusal(stripe.testHelpers.testClocks.create({ frozen_time: "soon" as never }));
    expect([err.statusCode, err.code, err.param]).toEqual([400, "parameter_invalid_integer", "frozen_time"]);
  });

  test("starting_after an unknown id is 404 resource_missing", async () => {
    const err = await refusal(stripe.invoices.list({ starting_after: "in_doesNotExist" }));
    expect([err.statusCode, err.code, err.param]).toEqual([404, "resource_missing", "starting_after"]);
    expect(err.message).toBe("No such invoice: 'in_doesNotExist'");
  });

  test("an expand path the object cannot expand is refused before anything changes", async () => {
    const { sub } = await subscribed();
    const err = await refusal(stripe.subscriptions.update(sub.id, { metadata: { touched: "yes" }, expand: ["nonsense"] }));
    expect([err.statusCode, err.param]).toEqual([400, "expand[0]"]);
    expect(err.message).toBe("This property cannot be expanded (nonsense).");
    expect((await stripe.subscriptions.retrieve(sub.id)).metadata.touched).toBeUndefined();
    const expanded = await stripe.subscriptions.retrieve(sub.id, { expand: ["customer"] });
    expect((expanded.customer as Stripe.Customer).object).toBe("customer");
  });

  test("an unknown id is 404 resource_missing with Stripe's doc_url", async () => {
    const err = await refusal(stripe.subscriptions.retrieve("sub_doesNotExist"));
    expect([err.statusCode, err.code]).toEqual([404, "resource_missing"]);
    expect(err.doc_url).toBe("https://stripe.com/docs/error-codes/resource-missing");
  });
});

describe("one currency per subscription and per customer, as Stripe keeps them", () => {
  const euros = (recurring?: { interval: "month" }) => stripe.prices.create({ currency: "eur", unit_amount: 900, recurring, product_data: { name: "Euro" } });

  test("a subscription's prices in two currencies are refused, naming items", async () => {
    const { price, customer } = await subscribed();
    const eur = await euros({ interval: "month" });
    const err = await refusal(
      stripe.subscriptions.create({ billing_mode: { type: "classic" }, customer: customer.id, items: [{ price: price.id }, { price: eur.id }] }),
    );
    expect([err.statusCode, err.rawType, err.param]).toEqual([400, "invalid_request_error", "items"]);
    expect(err.message).toBe("All prices on a subscription must have the same `currency`.");
  });

  test("a usd customer's subscription cannot move to a eur price, nor a second subscription be in eur, until nothing usd is live", async () => {
    const { customer, sub } = await subscribed();
    const eur = await euros({ interval: "month" });
    const combine =
      "You cannot combine currencies on a single customer. This customer has an active subscription, subscription schedule, discount, quote, or invoice item with currency usd.";
    const moved = await refusal(stripe.subscriptions.update(sub.id, { items: [{ id: sub.items.data[0].id, price: eur.id }] }));
    expect([moved.statusCode, moved.rawType, moved.param, moved.message]).toEqual([400, "invalid_request_error", "items", combine]);
    expect((await stripe.subscriptions.retrieve(sub.id)).items.data[0].price.currency).toBe("usd");
    const second = await refusal(stripe.subscriptions.create({ billing_mode: { type: "classic" }, customer: customer.id, items: [{ price: eur.id }] }));
    expect([second.statusCode, second.param, second.message]).toEqual([400, "items", combine]);
    await stripe.subscriptions.cancel(sub.id);
    expect((await stripe.subscriptions.create({ billing_mode: { type: "classic" }, customer: customer.id, items: [{ price: eur.id }] })).currency).toBe("eur");
  });

  test("an invoice item in eur for a customer billed in usd is refused, naming pricing[price]", async () => {
    const { customer } = await subscribed();
    const eur = await euros();
    const invoice = await stripe.invoices.create({ customer: customer.id, auto_advance: false, pending_invoice_items_behavior: "exclude" });
    const err = await refusal(stripe.invoiceItems.create({ customer: customer.id, invoice: invoice.id!, pricing: { price: eur.id } }));
    expect([err.statusCode, err.rawType, err.param]).toEqual([400, "invalid_request_error", "pricing[price]"]);
    expect(err.message).toContain("You cannot combine currencies on a single customer");
    expect((await stripe.invoices.retrieve(invoice.id!)).lines.data).toEqual([]);
  });
});

describe("values Stripe refuses", () => {
  test("an email that is not an address is email_invalid, on create and update", async () => {
    const err = await refusal(stripe.customers.create({ email: "notanemail" }));
    expect([err.statusCode, err.rawType, err.code, err.param]).toEqual([400, "invalid_request_error", "email_invalid", "email"]);
    expect(err.message).toBe("Invalid email address: notanemail");
    const customer = await stripe.customers.create({ email: "fine@example.com" });
    expect((await refusal(stripe.customers.update(customer.id, { email: "still not@one" }))).code).toBe("email_invalid");
  });

  test("a currency Stripe does not know is refused, naming currency; codes are lowercase", async () => {
    for (const currency of ["zzz", "USD"]) {
      const err = await refusal(stripe.prices.create({ currency, unit_amount: 100, product_data: { name: "Odd" } }));
      expect([err.statusCode, err.rawType, err.param]).toEqual([400, "invalid_request_error", "currency"]);
      expect(err.message).toStartWith(`Invalid currency: ${currency}. Stripe currently supports these currencies: usd, aed,`);
    }
    expect((await stripe.prices.create({ currency: "jpy", unit_amount: 100, product_data: { name: "Yen" } })).currency).toBe("jpy");
  });

  test("an amount over 8 digits is refused, as Stripe refuses it; 99999999 is taken", async () => {
    const price = (unit_amount: number) => stripe.prices.create({ currency: "usd", unit_amount, product_data: { name: "Big" } });
    const err = await refusal(price(100_000_000));
    expect([err.statusCode, err.param, err.message]).toEqual([400, "unit_amount", "This value must be less than or equal to 99999999."]);
    expect((await price(99_999_999)).unit_amount).toBe(99_999_999);
  });

  test("metadata keeps Stripe's limits: 50 keys, keys of 40 characters, values of 500", async () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));
    const tooMany = await refusal(stripe.customers.create({ metadata: keys(51) }));
    expect([tooMany.statusCode, tooMany.rawType, tooMany.param]).toEqual([400, "invalid_request_error", "metadata"]);
    const longKey = "k".repeat(41);
    const keyErr = await refusal(stripe.customers.create({ metadata: { [longKey]: "v" } }));
    expect([keyErr.statusCode, keyErr.param]).toEqual([400, `metadata[${longKey}]`]);
    const valueErr = await refusal(stripe.products.create({ name: "P", metadata: { note: "x".repeat(501) } }));
    expect([valueErr.statusCode, valueErr.param]).toEqual([400, "metadata[note]"]);
    expect(valueErr.message).toContain("up to 500 characters");
    const atLimits = await stripe.customers.create({ metadata: { ...keys(49), ["k".repeat(40)]: "x".repeat(500) } });
    expect(Object.keys(atLimits.metadata)).toHaveLength(50);
  });

  test("a NUL character in any string is a 400 naming the param, not a 500", async () => {
    const post = (body: string) =>
      fetch(`${local.url}/v1/customers`, {
        method: "POST",
        headers: { authorization: "Bearer sk_test_strict", "content-type": "application/x-www-form-urlencoded" },
        body,
      });
    for (const [body, param] of [
      ["name=a%00b", "name"],
      ["metadata[note]=a%00b", "metadata[note]"],
      ["invoice_settings[default_payment_method]=pm%00", "invoice_settings[default_payment_method]"],
    ]) {
      const r = await post(body);
      const { error } = (await r.json()) as { error: { type: string; param: string } };
      expect([body, r.status, error.type, error.param]).toEqual([body, 400, "invalid_request_error", param]);
    }
    const err = await refusal(stripe.products.create({ name: "a\u0000b" }));
    expect([err.statusCode, err.param]).toEqual([400, "name"]);
  });
});

describe("idempotency keys like Stripe's", () => {
  test("a request refused by validation is not saved under its key: the corrected retry with the same key succeeds", async () => {
    const key = `idem-${crypto.randomUUID()}`;
    const err = await refusal(stripe.customers.create({ email: "a@example.com", colour: "red" } as never, { idempotencyKey: key }));
    expect(err.code).toBe("parameter_unknown");
    const again = await refusal(stripe.customers.create({ email: "a@example.com", colour: "red" } as never, { idempotencyKey: key }));
    expect(again.code).toBe("parameter_unknown");
    // A refused request did not bind the key to its body: another body with the same key runs.
    const ok = await stripe.customers.create({ email: "a@example.com" }, { idempotencyKey: key });
    expect(ok.email).toBe("a@example.com");
    const replay = await stripe.customers.create({ email: "a@example.com" }, { idempotencyKey: key });
    expect(replay.id).toBe(ok.id);
  });

  test("the same key with another body is 400 idempotency_error", async () => {
    const key = `idem-${crypto.randomUUID()}`;
    await stripe.customers.create({ email: "b@example.com" }, { idempotencyKey: key });
    const err = await refusal(stripe.customers.create({ email: "c@example.com" }, { idempotencyKey: key }));
    expect([err.statusCode, err.type]).toEqual([400, "StripeIdempotencyError"]);
  });

  test("Stripe compares parameters, not bytes: the same parameters in another order replay, another value or endpoint is refused", async () => {
    const key = `idem-${crypto.randomUUID()}`;
    const post = (path: string, body: string) =>
      fetch(`${local.url}${path}`, {
        method: "POST",
        headers: { authorization: "Bearer sk_test_strict", "content-type": "application/x-www-form-urlencoded", "idempotency-key": key },
        body,
      });
    const first = await post("/v1/customers", "email=d%40example.com&name=D&metadata[a]=1&metadata[b]=2");
    const reordered = await post("/v1/customers", "metadata[b]=2&name=D&metadata[a]=1&email=d%40example.com");
    expect([first.status, reordered.status, reordered.headers.get("idempotent-replayed")]).toEqual([200, 200, "true"]);
    expect(((await reordered.json()) as Stripe.Customer).id).toBe(((await first.json()) as Stripe.Customer).id);
    for (const [path, body] of [
      ["/v1/customers", "email=d%40example.com&name=D&metadata[a]=1&metadata[b]=3"],
      ["/v1/customers", "email=d%40example.com&name=D&metadata[a]=1"],
      ["/v1/products", "email=d%40example.com&name=D&metadata[a]=1&metadata[b]=2"],
    ]) {
      const other = await post(path, body);
      expect([path, body, other.status, ((await other.json()) as { error: { type: string } }).error.type]).toEqual([path, body, 400, "idempotency_error"]);
    }
  });

  test("a second request with a key whose first request is still running is 409 idempotency_error", async () => {
    const { customer } = await subscribed();
    const key = `idem-${crypto.randomUUID()}`;
    // A slow first request: the emulator holds it while `local.holdRequests` is set.
    const release = local.holdRequests();
    const first = stripe.customers.update(customer.id, { name: "First" }, { idempotencyKey: key });
    await Bun.sleep(100);
    const second = await refusal(stripe.customers.update(customer.id, { name: "First" }, { idempotencyKey: key }));
    release();
    expect((await first).name).toBe("First");
    expect([second.statusCode, second.rawType]).toEqual([409, "idempotency_error"]);
    expect(second.message).toContain("another in-progress request");
  });
});

describe("authentication", () => {
  test("the key is taken as Bearer or as Basic's user name (curl -u sk_test_…:), as Stripe takes it; anything else is 401", async () => {
    const url = `http://127.0.0.1:${local.port}/v1/prices?limit=1`;
    const basic = await fetch(url, { headers: { authorization: `Basic ${btoa("sk_test_curl:")}` } });
    expect(basic.status).toBe(200);
    const bearer = await fetch(url, { headers: { authorization: "Bearer sk_test_curl" } });
    expect(bearer.status).toBe(200);
    for (const authorization of [`Basic ${btoa("pk_test_x:")}`, "Basic !!!", "Token sk_test_x", ""]) {
      const refused = await fetch(url, { headers: { authorization } });
      expect([authorization, refused.status]).toEqual([authorization, 401]);
    }
  });

  test("a key that is not a test secret key is 401 Invalid API Key, masked; no key at all is 'did not provide'", async () => {
    const wrong = new Stripe("sk_live_wrongKey1234", { host: "127.0.0.1", port: local.port, protocol: "http", maxNetworkRetries: 0 });
    const err = await refusal(wrong.customers.list());
    expect([err.statusCode, err.type, err.rawType]).toEqual([401, "StripeAuthenticationError", "invalid_request_error"]);
    expect(err.message).toBe("Invalid API Key provided: sk_live_********1234");
    const url = `http://127.0.0.1:${local.port}/v1/prices?limit=1`;
    const message = async (authorization: string) =>
      ((await (await fetch(url, { headers: { authorization } })).json()) as { error: { message: string } }).error.message;
    expect(await message("Bearer garbage")).toBe("Invalid API Key provided: ***bage");
    expect(await message(`Basic ${btoa("pk_test_abcd:")}`)).toBe("Invalid API Key provided: pk_test_abcd");
    expect(await message("")).toStartWith("You did not provide an API key.");
    // As Stripe's 401s, it names the scheme the key goes in.
    expect((await fetch(url, { headers: { authorization: "Bearer garbage" } })).headers.get("www-authenticate")).toBe('Basic realm="Stripe"');
  });

  test("a price without a currency is refused, not made in usd", async () => {
    const err = await refusal(stripe.prices.create({ unit_amount: 1000, product_data: { name: "No currency" } } as unknown as Stripe.PriceCreateParams));
    expect([err.statusCode, err.param, err.message]).toEqual([400, "currency", "Missing required param: currency."]);
  });
});

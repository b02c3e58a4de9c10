// Products and prices: created by lookup key at start-up, listed, retrieved. Prices are per_unit
// (a whole or decimal amount) or tiered (tiers.ts), licensed or metered on a billing meter.
import type Stripe from "stripe";
import { type Account, invalid, missing } from "./account";
import { arr, bool, type FormValue, int, meta, obj, str } from "./form";
import { amount, array, boolean, currency, expandable, integer, listParams, metadata, object, oneOf, type Param, string } from "./params";
import { list, type Route } from "./route";
import { newId } from "./store";
import { decimalString, type PriceTiers, parseTiers, publicTier, tiersKey, unitAmountOf, wholeCents } from "./tiers";

function newProduct(name: string, metadata: Record<string, string>): Stripe.Product {
  const now = Math.floor(Date.now() / 1000);
  return {
    id: newId("prod"),
    object: "product",
    active: true,
    created: now,
    default_price: null,
    description: null,
    tax_details: null,
    images: [],
    livemode: false,
    marketing_features: [],
    metadata,
    name,
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    type: "service",
    unit_label: null,
    updated: now,
    url: null,
  };
}

/** `tiers[][up_to]`: a whole number, or `inf` for the last tier. */
const upTo: Param = (value, name) => {
  if (value !== "inf") integer({ min: 1 })(value, name);
};

export const productRoutes: Route[] = [
  [
    "POST",
    /^\/v1\/products$/,
    { name: string, metadata },
    async (b, p) => {
      const product = newProduct(str(p.name) ?? "Product", meta(p.metadata));
      await b.store.put(product);
      return product;
    },
  ],
  ["GET", /^\/v1\/products\/([^/]+)$/, {}, async (b, _p, [id]) => (await b.store.get(id)) ?? Promise.reject(missing("product", id))],
  [
    "POST",
    /^\/v1\/prices$/,
    {
      product: string,
      product_data: object({ name: string, metadata }),
      unit_amount: amount,
      unit_amount_decimal: string,
      billing_scheme: oneOf("per_unit", "tiered"),
      tiers_mode: oneOf("graduated", "volume"),
      tiers: array(
        object({
          up_to: upTo,
          unit_amount: amount,
          unit_amount_decimal: string,
          flat_amount: amount,
          flat_amount_decimal: string,
        }),
      ),
      lookup_key: string,
      transfer_lookup_key: boolean,
      currency,
      metadata,
      nickname: string,
      recurring: object({
        interval: oneOf("day", "week", "month", "year"),
        interval_count: integer({ min: 1 }),
        usage_type: oneOf("licensed", "metered"),
        meter: string,
      }),
      expand: expandable("tiers"),
    },
    async (b, p) => createPrice(b, p),
  ],
  [
    "GET",
    /^\/v1\/prices$/,
    { ...listParams, lookup_keys: array(string), active: boolean, product: string, expand: expandable("data.tiers") },
    async (b, p) => {
      const keys = arr(p.lookup_keys).map(String);
      const active = bool(p.active);
      const answer = await list<Stripe.Price>(
        b,
        "price",
        p,
        (x) =>
          (keys.length === 0 || keys.includes(x.lookup_key ?? "")) &&
          (active === undefined || x.active === active) &&
          (!str(p.product) || x.product === str(p.product)),
        "/v1/prices",
      );
      if (arr(p.expand).includes("data.tiers")) answer.data = await Promise.all(answer.data.map((x) => withTiers(b, x)));
      return answer;
    },
  ],
  [
    "GET",
    /^\/v1\/prices\/([^/]+)$/,
    { expand: expandable("tiers") },
    async (b, p, [id]) => (arr(p.expand).includes("tiers") ? withTiers(b, await b.price(id)) : b.price(id)),
  ],
  [
    "POST",
    /^\/v1\/prices\/([^/]+)$/,
    { active: boolean, lookup_key: string, transfer_lookup_key: boolean, metadata, nickname: string },
    async (b, p, [id]) => {
      const price = await b.price(id);
      const lookup = str(p.lookup_key);
      if (lookup !== undefined && lookup !== price.lookup_key) {
        await claimLookupKey(b, lookup || null, bool(p.transfer_lookup_key) ?? false);
        price.lookup_key = lookup || null;
      }
      price.active = bool(p.active) ?? price.active;
      if (p.nickname !== undefined) price.nickname = str(p.nickname) || null;
      if (p.metadata !== undefined) price.metadata = { ...price.metadata, ...meta(p.metadata) };
      await b.store.put(price);
      return price;
    },
  ],
];

/** The price with its `tiers` (Stripe includes them only when asked: `expand[]=tiers`). */
async function withTiers(b: Account, price: Stripe.Price): Promise<Stripe.Price> {
  const stored = await b.store.get<PriceTiers>(tiersKey(price.id));
  return stored ? { ...price, tiers: stored.tiers.map(publicTier) } : price;
}

/**
 * Creates a price as Stripe validates one: per_unit needs `unit_amount` or `unit_amount_decimal`
 * (one of them); tiered needs `tiers_mode` and `tiers` (tiers.ts); a metered recurring price
 * (`usage_type=metered`) needs a billing meter (`recurring[meter]`, an existing one), and only a
 * metered price may name one.
 */
async function createPrice(b: Account, p: Record<string, FormValue>): Promise<Stripe.Price> {
  const tiered = parseTiers(p);
  // Stripe requires it: a price without a currency is refused, not made in usd.
  if (str(p.currency) === undefined) throw invalid("Missing required param: currency.", "currency");
  const unit = tiered ? null : unitAmountOf(p);
  if (unit === undefined) throw invalid("Missing required param: unit_amount.", "unit_amount");
  const recurring = obj(p.recurring);
  const intervals = ["day", "week", "month", "year"] as const;
  const interval = intervals.find((i) => i === str(recurring.interval)) ?? null;
  if (recurring.interval !== undefined && !interval)
    throw invalid("Invalid recurring[interval]: must be one of day, week, month, or year", "recurring[interval]");
  const usageType = str(recurring.usage_type) === "metered" ? "metered" : "licensed";
  const meter = str(recurring.meter) ?? null;
  if (usageType === "metered" && !meter)
    throw invalid("Metered prices must be backed by a meter: set recurring[meter] to the id of a billing meter.", "recurring[meter]");
  if (meter && usageType !== "metered") throw invalid("recurring[meter] may only be set when recurring[usage_type] is `metered`.", "recurring[meter]");
  if (meter && !(await b.store.get(meter))) throw missing("billing.meter", meter, "recurring[meter]");
  let productId = str(p.product);
  if (!productId) {
    const data = obj(p.product_data);
    const product = newProduct(str(data.name) ?? "Product", meta(data.metadata));
    await b.store.put(product);
    productId = product.id;
  }
  const lookup = str(p.lookup_key) ?? null;
  await claimLookupKey(b, lookup, bool(p.transfer_lookup_key) ?? false);
  const price: Stripe.Price = {
    id: newId("price"),
    object: "price",
    active: true,
    billing_scheme: tiered ? "tiered" : "per_unit",
    created: Math.floor(Date.now() / 1000),
    currency: str(p.currency)!,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: lookup,
    metadata: meta(p.metadata),
    nickname: null,
    product: productId,
    recurring: interval ? { interval, interval_count: int(recurring.interval_count) ?? 1, meter, trial_period_days: null, usage_type: usageType } : null,
    tax_behavior: "unspecified",
    tiers_mode: tiered?.mode ?? null,
    transform_quantity: null,
    type: interval ? "recurring" : "one_time",
    // Stripe answers the integer amount only when the decimal is a whole number of cents.
    unit_amount: unit === null ? null : wholeCents(unit),
    unit_amount_decimal: unit === null ? null : (decimalString(unit) as unknown as Stripe.Decimal),
  };
  await b.store.put(price);
  if (tiered) await b.store.put({ id: tiersKey(price.id), object: "emulator_price_tiers", ...tiered } satisfies PriceTiers as never);
  return arr(p.expand).includes("tiers") ? withTiers(b, price) : price;
}

/**
 * A lookup key names one price (archived ones included): a key in use is refused, unless
 * `transfer_lookup_key` moves it from the price that has it.
 */
async function claimLookupKey(b: Account, lookup: string | null, transfer: boolean): Promise<void> {
  if (!lookup) return;
  const holders = await b.store.list<Stripe.Price>("price", (x) => x.lookup_key === lookup);
  if (holders.length && !transfer) throw invalid(`A price (\`${holders[0].id}\`) already uses that lookup key.`, "lookup_key");
  // The key moves to the new price (the old one keeps billing its subscriptions).
  for (const holder of holders) {
    const moved = { ...holder, lookup_key: null } as Stripe.Price;
    await b.store.put(moved);
    await b.events.emit("price.updated", moved, Math.floor(Date.now() / 1000), { lookup_key: lookup });
  }
}

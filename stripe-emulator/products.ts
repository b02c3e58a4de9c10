// Products and prices: created by lookup key at start-up, listed, retrieved.
import type Stripe from "stripe";
import { type Account, invalid, missing, wireDecimal } from "./account";
import { arr, bool, int, meta, obj, str } from "./form";
import { array, boolean, integer, listParams, metadata, object, oneOf, string } from "./params";
import { list, type Route } from "./route";
import { newId } from "./store";

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
      unit_amount: integer({ min: 0 }),
      lookup_key: string,
      transfer_lookup_key: boolean,
      currency: string,
      metadata,
      nickname: string,
      recurring: object({ interval: oneOf("day", "week", "month", "year"), interval_count: integer({ min: 1 }) }),
    },
    async (b, p) => {
      let productId = str(p.product);
      if (!productId) {
        const data = obj(p.product_data);
        const product = newProduct(str(data.name) ?? "Product", meta(data.metadata));
        await b.store.put(product);
        productId = product.id;
      }
      const unit = int(p.unit_amount);
      if (unit === undefined || unit < 0) throw invalid("Missing required param: unit_amount.", "unit_amount");
      const lookup = str(p.lookup_key) ?? null;
      await claimLookupKey(b, lookup, bool(p.transfer_lookup_key) ?? false);
      const recurring = obj(p.recurring);
      const intervals = ["day", "week", "month", "year"] as const;
      const interval = intervals.find((i) => i === str(recurring.interval)) ?? null;
      if (recurring.interval !== undefined && !interval)
        throw invalid("Invalid recurring[interval]: must be one of day, week, month, or year", "recurring[interval]");
      const price: Stripe.Price = {
        id: newId("price"),
        object: "price",
        active: true,
        billing_scheme: "per_unit",
        created: Math.floor(Date.now() / 1000),
        currency: str(p.currency) ?? "usd",
        custom_unit_amount: null,
        livemode: false,
        lookup_key: lookup,
        metadata: meta(p.metadata),
        nickname: null,
        product: productId,
        recurring: interval ? { interval, interval_count: 1, meter: null, trial_period_days: null, usage_type: "licensed" } : null,
        tax_behavior: "unspecified",
        tiers_mode: null,
        transform_quantity: null,
        type: interval ? "recurring" : "one_time",
        unit_amount: unit,
        unit_amount_decimal: wireDecimal(unit),
      };
      await b.store.put(price);
      return price;
    },
  ],
  [
    "GET",
    /^\/v1\/prices$/,
    { ...listParams, lookup_keys: array(string), active: boolean, product: string },
    async (b, p) => {
      const keys = arr(p.lookup_keys).map(String);
      const active = bool(p.active);
      return list<Stripe.Price>(
        b,
        "price",
        p,
        (x) =>
          (keys.length === 0 || keys.includes(x.lookup_key ?? "")) &&
          (active === undefined || x.active === active) &&
          (!str(p.product) || x.product === str(p.product)),
        "/v1/prices",
      );
    },
  ],
  ["GET", /^\/v1\/prices\/([^/]+)$/, {}, async (b, _p, [id]) => b.price(id)],
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

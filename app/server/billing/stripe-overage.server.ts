// Overage billed by Stripe: per plan and metered feature with an overage price, a metered
// graduated price on that feature's billing meter — the first tier the plan's included units at
// 0, then priceCents/per cents per unit (`unit_amount_decimal`, exact) — found by lookup key like
// the plans' flat prices, made in test mode and locally. Stripe multiplies the units past the
// first tier by the decimal and rounds the line to the cent, half up: the rule of docs/api.md
// ("Overage"), so its invoice and ours agree to the cent. Subscriptions carry these prices as
// metered items beside the flat price (monthly prices only: Stripe needs one interval per
// subscription, and the catalog sells overage monthly only). Part of billing/'s Stripe modules.
import type Stripe from "stripe";
import type { Catalog } from "../domain/catalog.server";
import { config } from "../platform/config.server";
import { AppError } from "../platform/errors.server";
import { activeCatalog } from "./plans.server";
import { stripe } from "./stripe-client.server";
import { requestKey } from "./stripe-keys.server";
import { ensureFeatureMeter } from "./stripe-meter.server";

/** What a plan's overage price for one feature must bill. */
export type OverageTerms = {
  plan: string;
  planName: string;
  feature: string;
  /** The feature's unit (names its meter, should this be the first to need it). */
  unit: string;
  currency: string;
  included: number;
  priceCents: number;
  per: number;
};

export const overageLookupKey = (plan: string, feature: string) => `metered_overage_${plan}_${feature}`;

/**
 * priceCents/per as an exact decimal of cents with at most 12 decimal places (Stripe's limit for
 * `unit_amount_decimal`), or an error naming the plan and feature: a price Stripe cannot write
 * exactly would bill other cents than our rule.
 */
export function overageUnitDecimal(t: Pick<OverageTerms, "plan" | "feature" | "priceCents" | "per">): string {
  const scaled = BigInt(t.priceCents) * 10n ** 12n;
  if (scaled % BigInt(t.per) !== 0n)
    throw new AppError(
      "VALIDATION_FAILED",
      `plans.${t.plan}.features.${t.feature}.overage: ${t.priceCents} cents per ${t.per} units is not a decimal of at most 12 places, which Stripe needs to bill it exactly: choose a per of the form 2^a·5^b (e.g. 1000).`,
    );
  const units = scaled / BigInt(t.per);
  const whole = units / 10n ** 12n;
  const fraction = (units % 10n ** 12n).toString().padStart(12, "0").replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : String(whole);
}

/** The tiers of an overage price: the included units free (when there are any), then the unit price. */
export function overageTiers(t: OverageTerms): Stripe.PriceCreateParams.Tier[] {
  const rest = { up_to: "inf" as const, unit_amount_decimal: overageUnitDecimal(t) as unknown as Stripe.Decimal };
  return t.included > 0 ? [{ up_to: t.included, unit_amount: 0 }, rest] : [rest];
}

export const overagePriceParams = (t: OverageTerms, meterId: string) =>
  ({
    currency: t.currency,
    billing_scheme: "tiered",
    tiers_mode: "graduated",
    tiers: overageTiers(t),
    recurring: { interval: "month", usage_type: "metered", meter: meterId },
    lookup_key: overageLookupKey(t.plan, t.feature),
    product_data: { name: `Metered ${t.planName} ${t.feature} overage` },
    metadata: { plan_code: t.plan, feature: t.feature, overage: "true" },
  }) satisfies Stripe.PriceCreateParams;

/** Whether a Stripe price (tiers expanded) bills the terms: its meter, currency, interval and tiers. */
export function billsTerms(price: Stripe.Price, t: OverageTerms, meterId: string): boolean {
  const want = overageTiers(t);
  const have = price.tiers ?? [];
  return (
    price.currency === t.currency &&
    price.tiers_mode === "graduated" &&
    price.recurring?.usage_type === "metered" &&
    price.recurring.meter === meterId &&
    price.recurring.interval === "month" &&
    have.length === want.length &&
    want.every((w, i) => {
      const h = have[i];
      const unit = "unit_amount_decimal" in w ? String(w.unit_amount_decimal) : String(w.unit_amount);
      return (h.up_to ?? "inf") === w.up_to && String(h.unit_amount_decimal) === unit && !h.flat_amount;
    })
  );
}

/**
 * The Stripe price that bills a plan's overage of one feature: the one holding the lookup key
 * when it bills the terms, else (test mode, locally) a new one that takes the key over, the old
 * one still billing the subscriptions on it. In live mode a missing or outdated price is an error
 * naming it (ops stripe:check prints the price to create).
 */
export async function findOrMakeOveragePrice(t: OverageTerms): Promise<string> {
  const meterId = await ensureFeatureMeter(t.feature, t.unit);
  const key = overageLookupKey(t.plan, t.feature);
  const [found] = (await stripe.prices.list({ lookup_keys: [key], active: true, limit: 1, expand: ["data.tiers"] })).data;
  if (found && billsTerms(found, t, meterId)) return found.id;
  if (config.stripeMode === "live")
    throw new Error(
      `${found ? `Stripe price ${found.id} (lookup key ${key}) no longer bills` : "No Stripe price for"} the ${t.feature} overage of plan ${t.plan}`,
    );
  const params: Stripe.PriceCreateParams = { ...overagePriceParams(t, meterId), ...(found ? { transfer_lookup_key: true } : {}) };
  return (await stripe.prices.create(params, { idempotencyKey: requestKey(`price:${key}`, params) })).id;
}

/** Every metered feature of a plan that sells overage, with its terms (in `catalog`, the active one unless given). */
export function overageTermsOf(planCode: string, catalog: Catalog = activeCatalog().catalog): OverageTerms[] {
  const { plans, features } = catalog;
  const plan = plans[planCode];
  if (!plan) return [];
  const out: OverageTerms[] = [];
  for (const [feature, grant] of Object.entries(plan.features)) {
    if (features[feature]?.type !== "metered" || typeof grant !== "object" || grant === null || !("overage" in grant) || !grant.overage) continue;
    const g = grant as { included: number; overage: { priceCents: number; per: number } };
    out.push({
      plan: planCode,
      planName: plan.name,
      feature,
      unit: features[feature].unit ?? "unit",
      currency: plan.currency,
      included: g.included,
      priceCents: g.overage.priceCents,
      per: g.overage.per,
    });
  }
  return out;
}

/** A subscription's flat (licensed) item: the one whose price decides the plan; metered items ride beside it. */
export function flatItemOf<I extends { price: { recurring?: { usage_type?: string } | null } }>(sub: { items: { data: I[] } }): I | undefined {
  return sub.items.data.find((i) => i.price.recurring?.usage_type !== "metered") ?? sub.items.data[0];
}

/** What a subscription's metered item bills: the feature its price's metadata names (the app's overage prices carry it). */
export const meteredItemsOf = (sub: Stripe.Subscription): { id: string; priceId: string; feature: string | null }[] =>
  sub.items.data
    .filter((i) => i.price.recurring?.usage_type === "metered")
    .map((i) => ({ id: i.id, priceId: i.price.id, feature: i.price.metadata?.feature ?? null }));

/**
 * The `items` that move a subscription's metered items to `wanted`: an item of the same feature
 * moves to its new price in place (the period's usage then bills at the new tiers, as the new
 * plan's allowance applies to the whole period), one no longer sold is removed (Stripe bills its
 * usage so far), a new feature is added.
 */
export function meteredItemChanges(current: { id: string; priceId: string; feature: string | null }[], wanted: MeteredPrice[]) {
  const changes: ({ id: string; price: string } | { id: string; deleted: true } | { price: string })[] = [];
  for (const item of current) {
    const next = wanted.find((w) => w.feature === item.feature);
    if (!next) changes.push({ id: item.id, deleted: true });
    else if (next.priceId !== item.priceId) changes.push({ id: item.id, price: next.priceId });
  }
  for (const w of wanted) if (!current.some((i) => i.feature === w.feature)) changes.push({ price: w.priceId });
  return changes;
}

// Per process and catalog version, like the flat prices (stripe.server.ts): one load, shared.
let loaded: { version: number | null; ids: Map<string, Promise<MeteredPrice[]>> } | null = null;

/** A metered price a subscription carries, and the feature whose overage it bills. */
export type MeteredPrice = { priceId: string; feature: string };

/**
 * The metered prices a subscription to `planCode` carries beside its flat price: its overage
 * prices, monthly only (none on a yearly price: Stripe needs one interval per subscription).
 */
export async function overagePricesFor(planCode: string, interval: "month" | "year" = "month"): Promise<MeteredPrice[]> {
  if (interval === "year") return [];
  const version = activeCatalog().version;
  if (loaded?.version !== version) loaded = { version, ids: new Map() };
  const cache = loaded.ids;
  let ids = cache.get(planCode);
  if (!ids) {
    ids = (async () => {
      const out: MeteredPrice[] = [];
      for (const terms of overageTermsOf(planCode)) out.push({ priceId: await findOrMakeOveragePrice(terms), feature: terms.feature });
      return out;
    })();
    // A load that fails is forgotten, so the next caller tries again.
    ids.catch(() => cache.get(planCode) === ids && cache.delete(planCode));
    cache.set(planCode, ids);
  }
  return ids;
}

/** What one subscription lacked of its plan's overage items, and whether they were added. */
export type OverageItemsBackfill = { stripeStatus: string; missing: string[]; added: boolean };

/**
 * Adds to a monthly subscription the overage items its plan sells but it does not carry (one made
 * before overage existed), without proration: nothing is charged now, the renewal bills the overage.
 * Items of features it already carries are left as they are. Idempotent: a second run finds
 * nothing missing, and a retried call carries the same idempotency key (so Stripe answers the
 * first update instead of adding the items twice).
 */
export async function addMissingOverageItems(subscriptionId: string, planCode: string, apply: boolean): Promise<OverageItemsBackfill> {
  const sub = await stripe.subscriptions.retrieve(subscriptionId);
  const current = meteredItemsOf(sub);
  const wanted = await overagePricesFor(planCode, "month");
  const missing = wanted.filter((w) => !current.some((item) => item.feature === w.feature)).sort((a, b) => a.feature.localeCompare(b.feature));
  if (!apply || missing.length === 0 || sub.status === "canceled" || sub.status === "incomplete_expired")
    return { stripeStatus: sub.status, missing: missing.map((m) => m.feature), added: false };
  const params: Stripe.SubscriptionUpdateParams = { items: missing.map((m) => ({ price: m.priceId })), proration_behavior: "none" };
  await stripe.subscriptions.update(subscriptionId, params, {
    idempotencyKey: requestKey(`overage-backfill:${subscriptionId}`, { subscription: subscriptionId, params }),
  });
  return { stripeStatus: sub.status, missing: missing.map((m) => m.feature), added: true };
}

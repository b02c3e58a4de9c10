// What Stripe needs before a catalog version goes live (ops catalog:push): one billing meter per
// metered feature, and a price per plan and interval — found by lookup key when one already
// bills the amount, else made (prices are immutable: a changed amount is a new price, which
// takes the lookup key over; subscriptions on the old one stay there). Overage and top-up
// prices are made by the slices that bill them.
import type { Catalog } from "../domain/catalog.server";
import type { StripeBindings } from "./catalog.server";
import { findOrMakePrice, type PriceInterval } from "./stripe.server";
import { ensureFeatureMeter } from "./stripe-meter.server";

/** Makes (or finds) every Stripe object the catalog names; `progress` is told each one. */
export async function prepareStripeFor(catalog: Catalog, progress: (line: string) => void = () => {}): Promise<StripeBindings> {
  const bindings: StripeBindings = { prices: {}, meters: {} };
  for (const [feature, spec] of Object.entries(catalog.features)) {
    if (spec.type !== "metered") continue;
    bindings.meters[feature] = await ensureFeatureMeter(feature, spec.unit ?? "unit");
    progress(`meter ${feature}: ${bindings.meters[feature]}`);
  }
  for (const [code, plan] of Object.entries(catalog.plans)) {
    if (!plan.prices) continue; // a trial bills its priceOf's prices
    const ids: { month?: string; year?: string } = {};
    const amounts: [PriceInterval, number | undefined][] = [
      ["month", plan.prices.month],
      ["year", plan.prices.year],
    ];
    for (const [interval, amount] of amounts) {
      if (amount === undefined) continue;
      ids[interval] = await findOrMakePrice({ code, name: plan.name, currency: plan.currency, amount, interval }, plan.stripePriceIds?.[interval]);
      progress(`price ${code} ${interval}ly: ${ids[interval]}`);
    }
    bindings.prices[code] = ids;
  }
  return bindings;
}

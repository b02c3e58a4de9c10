// What Stripe needs before a catalog version goes live (ops catalog:push): one billing meter per
// metered feature, and a price per plan and interval — found by lookup key when one already
// bills the amount, else made (prices are immutable: a changed amount is a new price, which
// takes the lookup key over; subscriptions on the old one stay there). Overage prices
// (stripe-overage.server.ts) and the top-up packs' one-time prices (stripe-top-ups.server.ts) are
// found or made the same way.
import type { Catalog } from "../domain/catalog.server";
import type { StripeBindings } from "./catalog.server";
import { findOrMakePrice, type PriceInterval } from "./stripe.server";
import { ensureFeatureMeter } from "./stripe-meter.server";
import { findOrMakeOveragePrice, overageTermsOf, overageUnitDecimal } from "./stripe-overage.server";
import { topUpPrice } from "./stripe-top-ups.server";

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
    // Overage is sold on monthly prices only (Stripe bills one interval per subscription).
    for (const terms of overageTermsOf(code, catalog)) {
      const id = await findOrMakeOveragePrice(terms);
      progress(`overage ${code} ${terms.feature}: ${id} (${terms.included} included, then ${overageUnitDecimal(terms)} cents per unit)`);
    }
  }
  for (const [metric, pack] of Object.entries(catalog.topUps ?? {})) {
    const id = await topUpPrice({ metric, units: pack.units, priceCents: pack.priceCents, currency: pack.currency });
    progress(`top-up ${metric}: ${id} (${pack.units} units for ${pack.priceCents} ${pack.currency})`);
  }
  return bindings;
}

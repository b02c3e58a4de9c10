// `ops stripe:check`, the catalog: (b) the billing portal configuration against the app's portal
// (portal-config.server.ts), (c) the plans' monthly and yearly prices (amount, currency,
// interval, lookup key, active) and one usage meter per metered feature (event name, aggregation,
// payload keys) against the catalog, and each plan's overage price per feature (its meter and
// tiers, stripe-overage.server.ts) and each top-up pack's one-time price (stripe-top-ups.server.ts). In test mode a missing price or meter is made by the app on first
// use; in live mode it must exist before the first customer.

import { money } from "./check-commands.server";
import { errorKind, type Lines } from "./check-lines.server";
import { activeCatalog, type Plan } from "./plans.server";
import { isAppPortalConfiguration, PORTAL_FEATURES, PORTAL_METADATA, portalFeatureProblems } from "./portal-config.server";
import { lookupKey, type PriceInterval, planPriceParams } from "./stripe.server";
import { featureMeterParams } from "./stripe-meter.server";
import { billsTerms, overageLookupKey, overagePriceParams, overageTermsOf, overageUnitDecimal } from "./stripe-overage.server";
import { billsPack, topUpLookupKey, topUpPriceParams } from "./stripe-top-ups.server";

// ---- (b) the billing portal --------------------------------------------------------------------

export async function checkPortal(lines: Lines) {
  const { client } = lines.target;
  const configs = await client.billingPortal.configurations.list({ active: true, limit: 100 }).autoPagingToArray({ limit: 1000 });
  const apps = configs.filter((c) => isAppPortalConfiguration(c.metadata)).sort((a, b) => b.created - a.created);
  const used = apps[0] ?? configs.find((c) => c.is_default);
  const create = lines.api("/v1/billing_portal/configurations", { features: PORTAL_FEATURES, metadata: PORTAL_METADATA });
  if (!used) {
    lines.fail("portal", "configuration", "no active billing portal configuration: Stripe refuses a portal session without one, and the app answers 500", [
      "Dashboard: Settings → Billing → Customer portal: turn on payment methods and invoice history, allow cancelling at the end of the billing period, turn off switching plans; Save",
      create,
    ]);
    return;
  }
  const which = apps[0] ? `the app's configuration ${used.id}` : `the default configuration ${used.id} (none carries the app's metadata)`;
  const problems = portalFeatureProblems(used.features);
  if (problems.length === 0) {
    lines.pass("portal", "configuration", `${which}: card updates, invoice history, cancel at the period end, no plan switching`);
    return;
  }
  lines.fail("portal", "configuration", `${which}: ${problems.join("; ")}`, [
    apps[0]
      ? "The app's configuration is made from PORTAL_FEATURES (billing/portal-config.server.ts): update it to match"
      : "Dashboard: Settings → Billing → Customer portal: payment methods and invoice history on, cancel at the end of the billing period, switching plans off; Save",
    lines.api(`/v1/billing_portal/configurations/${used.id}`, { features: PORTAL_FEATURES }),
  ]);
}

// ---- (c) prices and the meters -----------------------------------------------------------------

type Price = Awaited<ReturnType<Lines["target"]["client"]["prices"]["list"]>>["data"][number];

/** The price the app would use for a plan and interval: the configured id, else the one holding its lookup key (archived ones too). */
async function priceFor(lines: Lines, code: string, interval: PriceInterval): Promise<{ price: Price | null; how: string; configured?: string }> {
  const { client, configuredPriceIds } = lines.target;
  const configured = configuredPriceIds[code]?.[interval];
  if (configured) {
    const how = `stripePriceIds.${interval} ${configured}`;
    try {
      return { price: await client.prices.retrieve(configured), how, configured };
    } catch (err) {
      if (errorKind(err) !== "allowed") throw err;
      return { price: null, how, configured };
    }
  }
  const [price] = (await client.prices.list({ lookup_keys: [lookupKey(code, interval)], limit: 1 })).data;
  return { price: price ?? null, how: `lookup key ${lookupKey(code, interval)}` };
}

/** Every plan's monthly price and, when the catalog sells it, its yearly one (`price growth`, `price growth yearly`). */
export async function checkPrices(lines: Lines) {
  for (const plan of lines.target.plans.filter((p) => p.billedAs === p.code)) {
    await checkPrice(lines, plan, "month");
    if (plan.priceYearly !== null) await checkPrice(lines, plan, "year");
  }
}

async function checkPrice(lines: Lines, plan: Plan, interval: PriceInterval) {
  const { mode } = lines.target;
  const check = interval === "month" ? `price ${plan.code}` : `price ${plan.code} yearly`;
  const amount = interval === "month" ? plan.priceMonthly : (plan.priceYearly ?? 0);
  const params = planPriceParams(plan, interval);
  const wanted = `${money(amount, plan.currency)} a ${interval}`;
  const create = lines.api("/v1/prices", params);
  const { price, how, configured } = await priceFor(lines, plan.code, interval);
  if (!price && configured) {
    lines.fail("catalog", check, `the catalog names ${configured} for ${plan.code}, and this account has no such price (another account, or the other mode?)`, [
      `Set plans.${plan.code}.stripePriceIds.${interval} in the catalog to a price of this account, or remove it to use the lookup key ${lookupKey(plan.code, interval)}`,
      create,
    ]);
    return;
  }
  if (!price) {
    if (mode === "live")
      lines.fail("catalog", check, `no price for ${plan.code} (${wanted}): the app finds it by ${how} and makes none in live mode`, [
        `Dashboard: Product catalog → Add product "Metered ${plan.name}", recurring ${wanted}, lookup key ${lookupKey(plan.code, interval)} (or set plans.${plan.code}.stripePriceIds.${interval} in the catalog)`,
        create,
      ]);
    else lines.pass("catalog", check, `no price with ${how} yet: the app creates it (${wanted}) on first use in ${mode} mode`);
    return;
  }
  const seen = `${price.id} (${how}) is ${money(price.unit_amount, price.currency)}${price.recurring ? ` every ${price.recurring.interval_count > 1 ? `${price.recurring.interval_count} ` : ""}${price.recurring.interval}` : " once"}`;
  const wrong: string[] = [];
  if (price.unit_amount !== amount || price.currency !== plan.currency) wrong.push(`the plan says ${wanted}`);
  if (price.type !== "recurring" || price.recurring?.interval !== interval || price.recurring.interval_count !== 1) wrong.push(`the app bills ${interval}ly`);
  if (price.recurring && price.recurring.usage_type !== "licensed") wrong.push(`it is metered, the plans are a flat ${interval}ly price`);
  if (price.billing_scheme !== "per_unit") wrong.push("it is tiered, the plans are one amount");
  if (!price.active) wrong.push("it is archived");
  if (wrong.length === 0) {
    lines.pass("catalog", check, `${seen}, as the plan says`);
    return;
  }
  lines.fail("catalog", check, `${seen}: ${wrong.join("; ")}`, [
    `A price's amount and interval cannot change: create the right price and move the lookup key to it (existing subscriptions keep the old price until changed), then restart the app (it reads prices once per process)`,
    lines.api("/v1/prices", {
      ...params,
      product: typeof price.product === "string" ? price.product : price.product.id,
      product_data: undefined,
      transfer_lookup_key: true,
    }),
  ]);
}

/**
 * Each plan's overage price per feature it sells overage on (`overage growth api_call`): a
 * metered graduated price on the feature's meter, found by its lookup key, billing the included
 * units at 0 and then priceCents/per cents per unit. Made on first use in test mode.
 */
export async function checkOveragePrices(lines: Lines) {
  const { client, mode } = lines.target;
  const meters = await client.billing.meters.list({ limit: 100 }).autoPagingToArray({ limit: 1000 });
  for (const plan of lines.target.plans.filter((p) => p.billedAs === p.code)) {
    for (const terms of overageTermsOf(plan.code)) {
      const check = `overage ${plan.code} ${terms.feature}`;
      const key = overageLookupKey(plan.code, terms.feature);
      const meter = meters.find((m) => m.event_name === terms.feature && m.status === "active");
      const made = overagePriceParams(terms, meter?.id ?? `<the id of meter ${terms.feature}>`);
      // As the form carries it: the SDK's Decimal is its string.
      const tiers = made.tiers.map((t) => ({ up_to: t.up_to, unit_amount: t.unit_amount, unit_amount_decimal: t.unit_amount_decimal?.toString() }));
      const params = { ...made, tiers };
      const wanted = `${terms.included} ${terms.unit} included, then ${overageUnitDecimal(terms)} cents per ${terms.unit}, monthly, on meter "${terms.feature}"`;
      const [price] = (await client.prices.list({ lookup_keys: [key], limit: 1, expand: ["data.tiers"] })).data;
      if (!price) {
        if (mode === "live")
          lines.fail(
            "catalog",
            check,
            `no overage price for ${plan.code} ${terms.feature} (${wanted}): the app finds it by lookup key ${key} and makes none in live mode`,
            [`Create the meter first (meter ${terms.feature} above), then the price:`, lines.api("/v1/prices", params)],
          );
        else lines.pass("catalog", check, `no price with lookup key ${key} yet: the app creates it (${wanted}) on first use in ${mode} mode`);
        continue;
      }
      if (price.active && meter && billsTerms(price, terms, meter.id)) {
        lines.pass("catalog", check, `${price.id} (lookup key ${key}) bills ${wanted}, as the plan says`);
        continue;
      }
      lines.fail("catalog", check, `${price.id} (lookup key ${key}) does not bill ${wanted}${price.active ? "" : ": it is archived"}`, [
        "A price's tiers cannot change: create the right price and move the lookup key to it (subscriptions keep the old price until changed), then restart the app",
        lines.api("/v1/prices", { ...params, transfer_lookup_key: true }),
      ]);
    }
  }
}

/**
 * Each top-up pack's one-time price (`top-up api_call`), found by its lookup key, billing the
 * pack's amount and currency. Made on first purchase in test mode.
 */
export async function checkTopUpPrices(lines: Lines) {
  const { client, mode } = lines.target;
  for (const [metric, spec] of Object.entries(activeCatalog().catalog.topUps ?? {})) {
    const pack = { metric, units: spec.units, priceCents: spec.priceCents, currency: spec.currency };
    const check = `top-up ${metric}`;
    const key = topUpLookupKey(metric);
    const params = topUpPriceParams(pack);
    const wanted = `${spec.units} ${metric} for ${money(spec.priceCents, spec.currency)}, one-time`;
    const [price] = (await client.prices.list({ lookup_keys: [key], limit: 1 })).data;
    if (!price) {
      if (mode === "live")
        lines.fail("catalog", check, `no top-up price for ${metric} (${wanted}): the app finds it by lookup key ${key} and makes none in live mode`, [
          lines.api("/v1/prices", params),
        ]);
      else lines.pass("catalog", check, `no price with lookup key ${key} yet: the app creates it (${wanted}) on first purchase in ${mode} mode`);
      continue;
    }
    if (price.active && billsPack(price, pack)) {
      lines.pass("catalog", check, `${price.id} (lookup key ${key}) bills ${wanted}, as the catalog says`);
      continue;
    }
    lines.fail("catalog", check, `${price.id} (lookup key ${key}) does not bill ${wanted}${price.active ? "" : ": it is archived"}`, [
      "A price's amount cannot change: create the right price and move the lookup key to it, then restart the app",
      lines.api("/v1/prices", { ...params, transfer_lookup_key: true }),
    ]);
  }
}

/** One billing meter per metered feature of the catalog, its event name the feature's code (`meter tokens`). */
export async function checkMeters(lines: Lines) {
  const meters = await lines.target.client.billing.meters.list({ limit: 100 }).autoPagingToArray({ limit: 1000 });
  for (const { code, unit } of lines.target.meteredFeatures) checkMeter(lines, meters, code, unit);
}

type Meter = Awaited<ReturnType<Lines["target"]["client"]["billing"]["meters"]["list"]>>["data"][number];

function checkMeter(lines: Lines, meters: Meter[], feature: string, unit: string) {
  const { mode } = lines.target;
  const check = `meter ${feature}`;
  const params = featureMeterParams(feature, unit);
  const meter = meters.find((m) => m.event_name === feature && m.status === "active") ?? meters.find((m) => m.event_name === feature);
  const create = lines.api("/v1/billing/meters", params);
  if (!meter) {
    if (mode === "live")
      lines.fail("catalog", check, `no billing meter for the event "${feature}": usage reporting fails until it exists`, [
        `Dashboard: Billing → Meters → Create meter: event name ${feature}, aggregation Sum, customer mapping by id from payload key ${params.customer_mapping.event_payload_key}, value key ${params.value_settings.event_payload_key}`,
        create,
      ]);
    else lines.pass("catalog", check, `no meter for "${feature}" yet: the app creates it with ops catalog:push or its first usage report in ${mode} mode`);
    return;
  }
  const wrong: string[] = [];
  if (meter.status !== "active") wrong.push("it is deactivated");
  if (meter.default_aggregation.formula !== params.default_aggregation.formula) wrong.push(`it aggregates by ${meter.default_aggregation.formula}, not sum`);
  if (meter.customer_mapping.event_payload_key !== params.customer_mapping.event_payload_key || meter.customer_mapping.type !== "by_id")
    wrong.push(`it finds the customer in "${meter.customer_mapping.event_payload_key}", the app sends "${params.customer_mapping.event_payload_key}"`);
  if (meter.value_settings.event_payload_key !== params.value_settings.event_payload_key)
    wrong.push(`it reads the value from "${meter.value_settings.event_payload_key}", the app sends "${params.value_settings.event_payload_key}"`);
  if (wrong.length === 0) {
    lines.pass("catalog", check, `${meter.id} counts "${feature}" events: sum of "value" per customer id`);
    return;
  }
  lines.fail("catalog", check, `${meter.id} ("${feature}"): ${wrong.join("; ")}`, [
    "A meter's aggregation and payload keys cannot change: deactivate it (Dashboard: Billing → Meters → ⋯ → Deactivate) and create the app's",
    create,
  ]);
}

// The billing portal's configuration: what a customer may do in Stripe's portal. Stripe refuses a
// portal session until a configuration exists, and what its Dashboard allows (plan switches,
// immediate cancel) would go around the app's own plan changes (previewed, upgrades now,
// downgrades at the period end: plan-change.server.ts). So the app makes its own through the API:
// cards, invoice history, cancel at the period end, no subscription updates (customer details
// stay off too: Stripe's default), and names it on every portal session.
import { log } from "../platform/log.server";
import { isAppPortalConfiguration, PORTAL_FEATURES, PORTAL_METADATA } from "./portal-config.server";
import { stripe } from "./stripe.server";
import { requestKey } from "./stripe-keys.server";

let configuration: Promise<string> | null = null;

/**
 * The id of the app's portal configuration: found by its metadata, or made. Loaded once per
 * process; a failed attempt is forgotten, so the next caller tries again.
 */
export function portalConfiguration(): Promise<string> {
  configuration ??= findOrMake().catch((err) => {
    configuration = null;
    throw err;
  });
  return configuration;
}

async function findOrMake(): Promise<string> {
  const all = await stripe.billingPortal.configurations.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
  const ours = all.filter((c) => isAppPortalConfiguration(c.metadata));
  const active = ours.find((c) => c.active);
  if (active) return active.id;
  if (ours[0]) {
    // Someone turned it off in the Dashboard: the portal cannot open without it.
    log.warn({ configurationId: ours[0].id }, "billing portal: the app's configuration was inactive; activated again");
    return (await stripe.billingPortal.configurations.update(ours[0].id, { active: true })).id;
  }
  const params = { features: PORTAL_FEATURES, name: "Metered", metadata: PORTAL_METADATA };
  // Processes starting together send the same key and body: Stripe makes one and answers it to all.
  return (await stripe.billingPortal.configurations.create(params, { idempotencyKey: requestKey("portal-configuration", params) })).id;
}

/** At start: makes (or finds) the configuration before the first customer opens the portal. */
export async function preparePortal(): Promise<void> {
  try {
    await portalConfiguration();
  } catch (err) {
    log.warn({ err }, "billing portal: its configuration is not ready yet; made on the first portal session");
  }
}

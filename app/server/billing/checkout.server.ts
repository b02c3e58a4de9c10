// The pages Stripe hosts for an org: Checkout to start a subscription, the billing portal for cards
// and invoices.
import { isLive } from "../../subscription-status";
import { markCheckoutStarted } from "../orgs/orgs.server";
import { config } from "../platform/config.server";
import { AppError } from "../platform/errors.server";
import { type PlanCode, planByCode, refreshCatalog } from "./plans.server";
import { portalConfiguration } from "./portal.server";
import { callerDeadline, createCheckoutSession, createPortalSession, liveStripeSubscription, type PriceInterval, upstream } from "./stripe.server";
import { subscriptionSummary } from "./subscriptions.server";

const alreadySubscribed = (planCode: string, status: string) =>
  new AppError("VALIDATION_FAILED", `The organisation is already on ${planCode} (${status}); change plans from the billing page instead.`, {
    issues: [{ path: "planCode", message: "already subscribed" }],
  });

/** Checkout's URL within the request's Stripe deadline (a Stripe that does not answer: 503). */
export const startCheckout = (orgId: string, planCode: PlanCode, interval?: PriceInterval): Promise<{ url: string }> =>
  callerDeadline(() => checkoutUrl(orgId, planCode, interval));

async function checkoutUrl(orgId: string, planCode: PlanCode, interval?: PriceInterval): Promise<{ url: string }> {
  const current = await subscriptionSummary(orgId);
  if (current && isLive(current.status)) throw alreadySubscribed(current.planCode, current.status);
  await refreshCatalog();
  const plan = planByCode(planCode);
  if (!plan) throw new AppError("VALIDATION_FAILED", `Unknown plan "${planCode}".`, { issues: [{ path: "planCode", message: "not a plan of the catalog" }] });
  if (interval === "year" && plan.priceYearly === null)
    throw new AppError("VALIDATION_FAILED", `${plan.name} has no yearly price.`, { issues: [{ path: "interval", message: "no yearly price for this plan" }] });
  // Stripe's word too: a checkout just paid may not have reached the mirror yet.
  const live = await upstream(() => liveStripeSubscription(orgId));
  if (live) throw alreadySubscribed(live.planCode ?? "another plan", live.status);
  // From now on, for a day, the rollover job looks for the subscription it may make.
  await markCheckoutStarted(orgId);
  const url = await upstream(() =>
    createCheckoutSession({
      orgId,
      planCode,
      interval,
      successUrl: `${config.baseUrl}/dashboard?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
      cancelUrl: `${config.baseUrl}/billing?checkout=canceled`,
      // A retry (a double click, a reload) within the day gets the same session, not a second one.
      idempotencyKey: `checkout:${orgId}:${planCode}${interval === "year" ? ":year" : ""}:${current?.periodStart ?? "none"}:${new Date().toISOString().slice(0, 10)}`,
    }),
  );
  return { url };
}

/** The billing portal's URL within the request's Stripe deadline. */
export function openPortal(orgId: string): Promise<{ url: string }> {
  return callerDeadline(async () => ({
    url: await upstream(async () => createPortalSession({ orgId, returnUrl: `${config.baseUrl}/billing`, configuration: await portalConfiguration() })),
  }));
}

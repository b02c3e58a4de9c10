// A paid Checkout reaches the mirror by three roads, each enough on its own, as Stripe advises
// (fulfil on the redirect and on the webhook): the webhooks (checkout.session.completed,
// customer.subscription.created, invoice.*), the return page (the session Stripe names in the
// success URL: convergeCheckoutReturn), and the rollover job's sweep of customers Stripe may hold a
// live subscription for while the mirror has none (convergeUnmirroredCustomers). Stripe gives a
// failed delivery up after a few retries, so without the last two a lost event would leave a
// paying customer without a plan for good. All three converge by re-reading Stripe, so whichever
// comes first wins and the others change nothing.
import { getOrg, markStripeChecked } from "../orgs/orgs.server";
import { sql } from "../platform/db.server";
import { log } from "../platform/log.server";
import { convergeInvoice, convergeSubscriptionState, followInStigg } from "./converge.server";
import { isStripeUnavailable } from "./stripe.server";
import { liveSubscriptionIds, retrieveCheckoutSession, retrieveSubscription } from "./stripe-subscriptions.server";

/** What a Checkout session id looks like; anything else is not sent to Stripe. */
const SESSION_ID = /^cs_(test|live)_[A-Za-z0-9]{1,250}$/;

/**
 * Converges what a paid Checkout made (its subscription and first invoice), from Stripe, for the
 * org whose customer it is. Subscriptions Stripe lists oldest first keep the mirror's rule: the
 * first live one is mirrored, a second is reported (converge.server.ts).
 */
async function convergeFromStripe(subscriptionId: string): Promise<void> {
  const state = await retrieveSubscription(subscriptionId);
  const orgId = await convergeSubscriptionState(state);
  if (state.latestInvoiceId) await convergeInvoice(state.latestInvoiceId);
  await followInStigg(orgId);
}

/**
 * The return page of a Checkout (`session_id` in the success URL): converges the org from the
 * session when it is the org's own (its customer, and the org its metadata names) and paid.
 * Anything else (another org's session, one Stripe does not know, a malformed id) changes nothing
 * and is answered the same, so the page tells nothing about it. Never fails the page: the webhook
 * and the rollover job are the other roads.
 */
export async function convergeCheckoutReturn(orgId: string, sessionId: string): Promise<void> {
  try {
    if (!SESSION_ID.test(sessionId)) return;
    const { stripeCustomerId } = await getOrg(orgId);
    if (!stripeCustomerId) return;
    const session = await retrieveCheckoutSession(sessionId);
    if (!session || session.customerId !== stripeCustomerId || (session.orgId !== null && session.orgId !== orgId)) return;
    if (session.status !== "complete" || !session.subscriptionId) return;
    await convergeFromStripe(session.subscriptionId);
  } catch (err) {
    const unavailable = isStripeUnavailable(err);
    log[unavailable ? "warn" : "error"]({ err, orgId }, "checkout return: could not converge from the session; the webhook or the rollover job will");
  }
}

/**
 * How often the sweep asks Stripe about one org: every 5 minutes within a day of its last
 * Checkout start (a session can be paid for 24 hours after it is made), then once a day (a
 * subscription made in the Dashboard, or a Checkout paid during a long outage). 50 orgs a run at
 * most (the job runs every minute): one subscription list each, under 1 request a second,
 * far below Stripe's rate limit (25 a second in sandboxes, shared with meter events).
 */
export const SWEEP = { recentEvery: "5 minutes", recentFor: "25 hours", idleEvery: "1 day", perRun: 50 } as const;

/**
 * Orgs with a Stripe customer and no live mirror whose turn it is, those within a day of a
 * Checkout first, then those asked about longest ago.
 */
export async function customersToCheck(limit: number = SWEEP.perRun): Promise<{ orgId: string; customerId: string }[]> {
  return sql<{ orgId: string; customerId: string }[]>`
    select o.id as "orgId", o.stripe_customer_id as "customerId"
      from organisations o
      left join subscriptions s on s.org_id = o.id
     where o.stripe_customer_id is not null
       and (s.org_id is null or not is_live(s.status))
       and (o.stripe_checked_at is null
            or o.stripe_checked_at < now() - case when o.checkout_started_at > now() - ${SWEEP.recentFor}::interval
                                                  then ${SWEEP.recentEvery}::interval else ${SWEEP.idleEvery}::interval end)
     order by (o.checkout_started_at > now() - ${SWEEP.recentFor}::interval) desc nulls last, o.stripe_checked_at nulls first
     limit ${limit}`;
}

/**
 * The rollover job's sweep: converges every live Stripe subscription of the orgs whose turn it is.
 * An org that fails is logged and asked again at its next turn; Stripe unreachable ends the run.
 */
export async function convergeUnmirroredCustomers(): Promise<{ checked: number; converged: number; failed: number }> {
  const result = { checked: 0, converged: 0, failed: 0 };
  for (const { orgId, customerId } of await customersToCheck()) {
    try {
      for (const id of await liveSubscriptionIds(customerId)) {
        await convergeFromStripe(id);
        result.converged++;
      }
    } catch (err) {
      if (isStripeUnavailable(err)) {
        log.warn({ err, orgId }, "rollover: Stripe unavailable; the sweep of unmirrored customers stops until the next run");
        return result;
      }
      log.error({ err, orgId, customerId }, "rollover: could not converge a customer's live subscriptions; asked again at its next turn");
      result.failed++;
    }
    await markStripeChecked(orgId);
    result.checked++;
  }
  return result;
}

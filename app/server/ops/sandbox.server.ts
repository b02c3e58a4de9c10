// Driving a Stripe sandbox from the ops CLI and the tests: subscribe with a test card, advance an
// org's test clock, and wait for the webhooks that follow to converge.

import type { PlanCode } from "../billing/plans.server";
import { advanceTestClock, ensureCustomer, type PriceInterval, subscribeWithTestCard, type TestCard, upstream } from "../billing/stripe.server";
import { subscriptionSummary } from "../billing/subscriptions.server";
import { sql } from "../platform/db.server";
import { AppError } from "../platform/errors.server";

/** Waits until every webhook Stripe sent about this customer has converged, and none is new for `quietMs`. */
export async function waitForConvergence(customerId: string, opts: { since: Date; timeoutMs?: number; quietMs?: number; until?: () => Promise<boolean> }) {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const quietMs = opts.quietMs ?? 750;
  let lastChange = Date.now();
  let lastSeen = -1;
  while (Date.now() < deadline) {
    const [s] = await sql<{ total: number; open: number }[]>`
      select count(*)::int as total, count(*) filter (where processed_at is null)::int as open
        from stripe_events where customer_id = ${customerId} and received_at >= ${opts.since.toISOString()}::timestamptz`;
    if (s.total !== lastSeen) {
      lastSeen = s.total;
      lastChange = Date.now();
    }
    const wanted = opts.until ? await opts.until() : s.total > 0;
    if (s.open === 0 && wanted && Date.now() - lastChange >= quietMs) return { events: s.total };
    await Bun.sleep(50);
  }
  throw new AppError(
    "UPSTREAM_UNAVAILABLE",
    "Stripe's webhooks have not converged within the time limit: is the worker running (`bun run worker`) and the app reachable by Stripe?",
  );
}

/** Subscribes with a test card, billed monthly or yearly (`interval`), and waits for the mirror to hold it. */
export async function subscribeThroughStripe(orgId: string, planCode: PlanCode, card: TestCard = "visa", interval: PriceInterval = "month") {
  const since = new Date(Date.now() - 1000);
  const { customerId } = await upstream(() => ensureCustomer(orgId));
  const subscriptionId = await upstream(() => subscribeWithTestCard({ orgId, planCode, card, interval }));
  await waitForConvergence(customerId, {
    since,
    until: async () => {
      const [row] = await sql`select 1 from subscriptions where org_id = ${orgId} and stripe_subscription_id = ${subscriptionId}`;
      return Boolean(row);
    },
  });
  return subscriptionSummary(orgId);
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

export function parseDuration(text: string): number {
  const m = /^(\d+)([smhd])$/.exec(text.trim());
  if (!m) throw new AppError("VALIDATION_FAILED", `"${text}" is not a duration: use a number and s, m, h or d (e.g. 31d, 12h).`);
  return Number(m[1]) * UNITS[m[2]];
}

export async function advanceOrgClock(orgId: string, duration: string) {
  const seconds = parseDuration(duration);
  const since = new Date(Date.now() - 1000);
  const { customerId } = await upstream(() => ensureCustomer(orgId));
  const clock = await upstream(() => advanceTestClock(orgId, seconds));
  const converged = await waitForConvergence(customerId, { since, until: async () => true });
  return {
    orgId,
    clockId: clock.clockId,
    frozenTime: clock.frozenTime.toISOString(),
    events: converged.events,
    subscription: await subscriptionSummary(orgId),
  };
}

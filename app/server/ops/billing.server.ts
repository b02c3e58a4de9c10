// What the ops CLI does that touches billing: subscribe through Stripe, advance test clocks,
// wait for webhook convergence, and read the job queue.
import { sql } from "../platform/db.server";
import { AppError } from "../platform/errors.server";
import { subscriptionSummary } from "../billing/subscriptions.server";
import type { PlanCode } from "../billing/plans.server";
import { advanceTestClock, ensureCustomer, subscribeWithTestCard, type TestCard, upstream } from "../billing/stripe.server";

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

export async function subscribeThroughStripe(orgId: string, planCode: PlanCode, card: TestCard = "visa") {
  const since = new Date(Date.now() - 1000);
  const { customerId } = await upstream(() => ensureCustomer(orgId));
  const subscriptionId = await upstream(() => subscribeWithTestCard({ orgId, planCode, card }));
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

/** Queue depth, lag and permanently failed jobs (graphile-worker's own tables). */
export async function jobStats() {
  const byTask = await sql<{ task: string; queued: number; running: number; failed: number; retrying: number }[]>`
    select task_identifier as task,
           count(*) filter (where locked_at is null and attempts = 0)::int as queued,
           count(*) filter (where locked_at is not null)::int as running,
           count(*) filter (where attempts >= max_attempts)::int as failed,
           count(*) filter (where attempts > 0 and attempts < max_attempts and locked_at is null)::int as retrying
      from graphile_worker.jobs group by task_identifier order by 1`;
  const [lag] = await sql<{ lag_ms: number | null }[]>`
    select (extract(epoch from (now() - min(run_at))) * 1000)::int as lag_ms
      from graphile_worker.jobs where locked_at is null and attempts < max_attempts and run_at <= now()`;
  const failed = await sql<{ id: string; task: string; key: string | null; attempts: number; last_error: string | null; updated_ms: number }[]>`
    select id::text, task_identifier as task, key, attempts, last_error, (extract(epoch from updated_at) * 1000)::float8 as updated_ms
      from graphile_worker.jobs where attempts >= max_attempts order by updated_at desc limit 50`;
  return {
    tasks: byTask,
    lagMs: lag?.lag_ms ?? 0,
    failed: failed.map((f) => ({
      id: f.id,
      task: f.task,
      key: f.key,
      attempts: f.attempts,
      lastError: f.last_error?.split("\n")[0] ?? null,
      updatedAt: new Date(f.updated_ms).toISOString(),
    })),
  };
}

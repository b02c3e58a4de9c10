// Test clocks: advancing one runs everything due on its customers in time order — schedule
// phase ends, period renewals, draft invoices finalized an hour after creation, payment
// retries, incomplete subscriptions and Checkout sessions expiring — each at its own instant of
// clock time.
import type Stripe from "stripe";
import { type Account, addMonths, INCOMPLETE_SECONDS, invalid, missing } from "./account";
import { chargeInvoice, finalizeInvoice } from "./invoices";
import { advanceSchedule } from "./schedules";
import { expireIfDue } from "./sessions";
import { expireIncomplete, renew } from "./subscriptions";

type Due = { at: number; order: number; run: () => Promise<unknown> };

const RENEWING = new Set(["active", "trialing", "past_due"]);
const ENDED = new Set(["canceled", "incomplete_expired"]);
const DAYS: Record<string, number> = { day: 1, week: 7 };

/** Stripe announces a trial's end this long before it (`customer.subscription.trial_will_end`). */
const TRIAL_NOTICE_SECONDS = 3 * 86_400;
const noticeKey = (sub: Stripe.Subscription) => `trial_will_end:${sub.id}:${sub.trial_end}`;

async function trialNoticeSent(b: Account, sub: Stripe.Subscription): Promise<boolean> {
  const [row] = await b.store.sql`select 1 from counters where name = ${noticeKey(sub)}`;
  return Boolean(row);
}

async function sendTrialNotice(b: Account, sub: Stripe.Subscription, at: number) {
  await b.store.sql`insert into counters (name, value) values (${noticeKey(sub)}, ${at}) on conflict (name) do nothing`;
  await b.events.emit("customer.subscription.trial_will_end", sub, at);
}

/** The earliest thing due on these customers at or before `to`, or null. */
async function nextDue(b: Account, customers: Set<string>, to: number): Promise<Due | null> {
  const mine = (o: { customer?: unknown }) => customers.has(o.customer as string);
  const due: Due[] = [];
  for (const s of await b.store.list<Stripe.SubscriptionSchedule>("subscription_schedule", (x) => mine(x) && x.status === "active")) {
    if (s.current_phase && s.current_phase.end_date <= to)
      due.push({ at: s.current_phase.end_date, order: 0, run: () => advanceSchedule(b, s, s.current_phase!.end_date) });
  }
  for (const sub of await b.store.list<Stripe.Subscription>("subscription", mine)) {
    const end = sub.items.data[0].current_period_end;
    if (RENEWING.has(sub.status) && end <= to) due.push({ at: end, order: 1, run: () => renew(b, sub, end) });
    const notice = sub.status === "trialing" && sub.trial_end ? Math.max(sub.created, sub.trial_end - TRIAL_NOTICE_SECONDS) : null;
    if (notice !== null && notice <= to && !(await trialNoticeSent(b, sub))) due.push({ at: notice, order: 1, run: () => sendTrialNotice(b, sub, notice) });
    const expires = sub.created + INCOMPLETE_SECONDS;
    if (sub.status === "incomplete" && expires <= to) due.push({ at: expires, order: 1, run: () => expireIncomplete(b, sub, expires) });
  }
  for (const s of await b.store.list<Stripe.Checkout.Session>("checkout.session", (x) => mine(x) && x.status === "open")) {
    if (s.expires_at <= to) due.push({ at: s.expires_at, order: 2, run: () => expireIfDue(b, s) });
  }
  for (const inv of await b.store.list<Stripe.Invoice>("invoice", mine)) {
    const finalizeAt = inv.automatically_finalizes_at;
    if (inv.status === "draft" && finalizeAt !== null && finalizeAt <= to)
      due.push({ at: finalizeAt, order: 2, run: () => finalizeInvoice(b, inv, finalizeAt) });
    const retryAt = inv.next_payment_attempt;
    if (inv.status === "open" && retryAt !== null && retryAt <= to) due.push({ at: retryAt, order: 3, run: () => chargeInvoice(b, inv, retryAt) });
  }
  due.sort((x, y) => x.at - y.at || x.order - y.order);
  return due[0] ?? null;
}

/**
 * The latest time a clock may advance to, as Stripe allows: two intervals of its shortest
 * subscription, or two years when it has none.
 */
async function advanceLimit(b: Account, customers: Set<string>, from: number): Promise<{ limit: number; subscriptions: boolean }> {
  let limit = addMonths(from, 24);
  const subs = await b.store.list<Stripe.Subscription>("subscription", (x) => customers.has(x.customer as string) && !ENDED.has(x.status));
  if (subs.length > 0) limit = Number.POSITIVE_INFINITY;
  for (const sub of subs) {
    const recurring = sub.items.data[0].price.recurring;
    if (!recurring) continue;
    const n = 2 * recurring.interval_count;
    const at =
      recurring.interval === "month"
        ? addMonths(from, n)
        : recurring.interval === "year"
          ? addMonths(from, 12 * n)
          : from + n * DAYS[recurring.interval] * 86_400;
    limit = Math.min(limit, at);
  }
  return { limit, subscriptions: subs.length > 0 };
}

/**
 * Starts advancing a clock and answers at once with status `advancing`, as Stripe does; the
 * advance runs next (after this request, before any later one) and leaves the clock `ready`.
 */
export async function advanceClock(b: Account, clockId: string, to: number) {
  const clock = await b.store.get<Stripe.TestHelpers.TestClock>(clockId);
  if (!clock) throw missing("test_helpers.test_clock", clockId);
  if (clock.status === "advancing") throw invalid("The test clock is currently advancing. Wait for it to be ready before advancing it again.");
  if (to <= clock.frozen_time) throw invalid("The frozen_time must be after the current frozen_time.", "frozen_time");
  const customers = new Set((await b.store.list<Stripe.Customer>("customer", (c) => c.test_clock === clockId)).map((c) => c.id));
  const { limit, subscriptions } = await advanceLimit(b, customers, clock.frozen_time);
  if (to > limit)
    throw invalid(
      subscriptions
        ? "Cannot advance the test clock more than two intervals of the shortest subscription interval on it at a time. Advance it in smaller steps."
        : "Cannot advance a test clock without subscriptions more than two years into the future at a time. Advance it in smaller steps.",
      "frozen_time",
    );
  clock.status = "advancing";
  clock.status_details = { advancing: { target_frozen_time: to } };
  await b.store.put(clock);
  await b.events.emit("test_helpers.test_clock.advancing", clock, clock.frozen_time);
  void b.store
    .exclusive(() => runAdvance(b, clock, customers, to))
    .catch(async (err: Error) => {
      b.events.log(`test clock ${clockId} failed to advance: ${err.stack}`);
      clock.status = "internal_failure";
      clock.status_details = {};
      await b.store.put(clock);
      await b.events.emit("test_helpers.test_clock.internal_failure", clock, clock.frozen_time);
    });
  return clock;
}

async function runAdvance(b: Account, clock: Stripe.TestHelpers.TestClock, customers: Set<string>, to: number) {
  for (let step = 0; step < 10_000; step++) {
    const next = await nextDue(b, customers, to);
    if (!next) break;
    clock.frozen_time = Math.max(clock.frozen_time, next.at);
    await b.store.put(clock);
    await next.run();
  }
  clock.frozen_time = to;
  clock.status = "ready";
  clock.status_details = {};
  await b.store.put(clock);
  await b.events.emit("test_helpers.test_clock.ready", clock, to);
}

// Test clocks: advancing one runs everything due on its customers in time order — schedule
// phase ends, period renewals, draft invoices finalized an hour after creation, payment
// retries, incomplete subscriptions expiring — each at its own instant of clock time.
import type Stripe from "stripe";
import { type Billing, INCOMPLETE_SECONDS, invalid, missing } from "./billing";
import { chargeInvoice, finalizeInvoice } from "./invoices";
import { advanceSchedule } from "./schedules";
import { expireIncomplete, renew } from "./subscriptions";

type Due = { at: number; order: number; run: () => Promise<unknown> };

const RENEWING = new Set(["active", "trialing", "past_due"]);

/** The earliest thing due on these customers at or before `to`, or null. */
async function nextDue(b: Billing, customers: Set<string>, to: number): Promise<Due | null> {
  const mine = (o: { customer?: unknown }) => customers.has(o.customer as string);
  const due: Due[] = [];
  for (const s of await b.store.list<Stripe.SubscriptionSchedule>("subscription_schedule", (x) => mine(x) && x.status === "active")) {
    if (s.current_phase && s.current_phase.end_date <= to)
      due.push({ at: s.current_phase.end_date, order: 0, run: () => advanceSchedule(b, s, s.current_phase!.end_date) });
  }
  for (const sub of await b.store.list<Stripe.Subscription>("subscription", mine)) {
    const end = sub.items.data[0].current_period_end;
    if (RENEWING.has(sub.status) && end <= to) due.push({ at: end, order: 1, run: () => renew(b, sub, end) });
    const expires = sub.created + INCOMPLETE_SECONDS;
    if (sub.status === "incomplete" && expires <= to) due.push({ at: expires, order: 1, run: () => expireIncomplete(b, sub, expires) });
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

export async function advanceClock(b: Billing, clockId: string, to: number) {
  const clock = await b.store.get<Stripe.TestHelpers.TestClock>(clockId);
  if (!clock) throw missing("test_helpers.test_clock", clockId);
  if (to <= clock.frozen_time) throw invalid("The frozen_time must be after the current frozen_time.", "frozen_time");
  clock.status = "advancing";
  await b.store.put(clock);
  await b.events.emit("test_helpers.test_clock.advancing", clock, clock.frozen_time);
  const customers = new Set((await b.store.list<Stripe.Customer>("customer", (c) => c.test_clock === clockId)).map((c) => c.id));
  for (let step = 0; step < 10_000; step++) {
    const next = await nextDue(b, customers, to);
    if (!next) break;
    clock.frozen_time = Math.max(clock.frozen_time, next.at);
    await b.store.put(clock);
    await next.run();
  }
  clock.frozen_time = to;
  clock.status = "ready";
  await b.store.put(clock);
  await b.events.emit("test_helpers.test_clock.ready", clock, to);
  return clock;
}

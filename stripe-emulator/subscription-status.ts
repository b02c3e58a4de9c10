// A subscription's status changes that invoices cause as well as requests: past_due, unpaid and
// active again, and canceled (which stops the collection of its open invoices). Below both
// invoices.ts and subscriptions.ts, so neither imports the other to change a status.
import type Stripe from "stripe";
import type { Account } from "./account";

type Sub = Stripe.Subscription;
type Inv = Stripe.Invoice;

/** The subscription an invoice bills, if any. */
export const subscriptionOf = (inv: Inv) => inv.parent?.subscription_details?.subscription as string | undefined;

/** Sets the status and emits customer.subscription.updated with the previous one. */
export async function setStatus(b: Account, sub: Sub, status: Stripe.Subscription.Status, at: number) {
  const previous = { status: sub.status };
  sub.status = status;
  await b.store.put(sub);
  await b.events.emit("customer.subscription.updated", sub, at, previous);
}

/** Ends the subscription at `at` with customer.subscription.deleted; its schedule is canceled too. */
export async function cancelNow(b: Account, sub: Sub, at: number, reason: "cancellation_requested" | "payment_failed" = "cancellation_requested") {
  if (sub.schedule) {
    const schedule = await b.store.get<Stripe.SubscriptionSchedule>(sub.schedule as string);
    if (schedule && (schedule.status === "active" || schedule.status === "not_started")) {
      Object.assign(schedule, { status: "canceled", canceled_at: at, current_phase: null });
      await b.store.put(schedule);
      await b.events.emit("subscription_schedule.canceled", schedule, at);
    }
  }
  sub.status = "canceled";
  sub.canceled_at = at;
  sub.ended_at = at;
  sub.cancellation_details = { comment: null, feedback: null, feedback_option: null, reason };
  await b.store.put(sub);
  await stopCollecting(b, sub.id);
  await b.events.emit("customer.subscription.deleted", sub, at);
  return sub;
}

/** Stripe stops collecting a canceled subscription's open invoices. */
export async function stopCollecting(b: Account, subId: string) {
  const open = await b.store.list<Inv>("invoice", (i) => subscriptionOf(i) === subId && i.next_payment_attempt !== null && i.status === "open");
  for (const inv of open) {
    inv.next_payment_attempt = null;
    inv.auto_advance = false;
    await b.store.put(inv);
  }
}

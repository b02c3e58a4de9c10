// The Stripe event types the app acts on, written once. Convergence (converge.server.ts) dispatches
// by this list and ignores any other type; `ops stripe:check` requires the account's webhook
// endpoint to send every one of them; `npm start` and the tests register the local Stripe's
// endpoint with it, so a type missing here shows as a broken local system first.
// No imports: the run script reads it before the app's configuration exists.

/** Where the app takes Stripe's webhooks (app/routes/api.webhooks.stripe.ts), under its base URL. */
export const STRIPE_WEBHOOK_PATH = "/api/webhooks/stripe";

/** What a converged event names: each kind re-reads its object from Stripe. */
export type EventKind = "subscription" | "schedule" | "checkout" | "invoice" | "clock";

/**
 * Per kind, the types whose object the mirror follows. Subscriptions: every status change (a
 * pause and a resume are their own events besides `updated`); schedules: every change of the
 * phases that make the pending downgrade; Checkout: a paid session names its subscription (or
 * grants its top-up);
 * invoices: each status the invoice list shows (draft, open, paid, failed, void, uncollectible);
 * a test clock deleted (with its customers, in a sandbox): the org's customer is gone.
 */
export const STRIPE_EVENTS_BY_KIND = {
  subscription: [
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.trial_will_end",
  ],
  schedule: [
    "subscription_schedule.created",
    "subscription_schedule.updated",
    "subscription_schedule.released",
    "subscription_schedule.canceled",
    "subscription_schedule.completed",
    "subscription_schedule.aborted",
  ],
  // A session paid by a method that confirms later (a bank debit) completes unpaid, then is paid
  // with `async_payment_succeeded`: its top-up credits are granted then.
  checkout: ["checkout.session.completed", "checkout.session.async_payment_succeeded"],
  invoice: [
    "invoice.created",
    "invoice.finalized",
    "invoice.updated",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.voided",
    "invoice.marked_uncollectible",
  ],
  clock: ["test_helpers.test_clock.deleted"],
} as const satisfies Record<EventKind, readonly string[]>;

export type StripeEventType = (typeof STRIPE_EVENTS_BY_KIND)[EventKind][number];

/** Every event type the webhook endpoint must send, in a stable order. */
export const STRIPE_EVENT_TYPES: readonly StripeEventType[] = Object.values(STRIPE_EVENTS_BY_KIND).flat();

const KIND_OF = new Map<string, EventKind>(
  (Object.entries(STRIPE_EVENTS_BY_KIND) as [EventKind, readonly string[]][]).flatMap(([kind, types]) => types.map((t) => [t, kind] as const)),
);

/** The kind of an event type the app acts on, or null for any other (stored, not converged). */
export function eventKind(type: string): EventKind | null {
  return KIND_OF.get(type) ?? null;
}

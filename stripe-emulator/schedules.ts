// Subscription schedules: created from a subscription (one phase: its current price until its
// period end), phases replaced by an update, released or canceled, and advanced by the clock at
// each phase's end: the next phase's price applies at the boundary, so the renewal invoice of
// that period bills it. After the last phase, `end_behavior` releases or cancels.
import type Stripe from "stripe";
import { type Account, addMonths, invalid, legacyPlan, missing } from "./account";
import { refuseOtherCurrency } from "./customers";
import { arr, type FormValue, int, meta, obj, str } from "./form";
import { createInvoice } from "./invoices";
import { isMetered, itemPrices, meteredItems, syncMeteredItems } from "./metered";
import { array, boolean, integer, listParams, metadata, object, oneOf, string, timestamp } from "./params";
import type { Route } from "./route";
import { newId } from "./store";
import { cancelNow } from "./subscription-status";
import { changePrice, pendingItems, setPendingItems, subscription } from "./subscriptions";

type Schedule = Stripe.SubscriptionSchedule;
type Phase = Stripe.SubscriptionSchedule.Phase;
type Params = Record<string, FormValue>;

const OPEN = new Set(["active", "not_started"]);

async function schedule(b: Account, id: string): Promise<Schedule> {
  const s = await b.store.get<Schedule>(id);
  if (!s) throw missing("subscription_schedule", id);
  return s;
}

function phase(
  prices: Stripe.Price[],
  start: number,
  end: number,
  prorationBehavior: Stripe.SubscriptionSchedule.Phase.ProrationBehavior,
  metadata: Record<string, string> = {},
): Phase {
  return {
    add_invoice_items: [],
    application_fee_percent: null,
    billing_cycle_anchor: null,
    billing_thresholds: null,
    collection_method: null,
    currency: prices[0].currency,
    default_payment_method: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    end_date: end,
    invoice_settings: null,
    items: prices.map((price) => {
      const item: Phase["items"][number] = {
        billing_thresholds: null,
        discounts: [],
        metadata: {},
        plan: price.id,
        price: price.id,
        quantity: 1,
        tax_rates: [],
      };
      if (isMetered(price)) delete item.quantity;
      return item;
    }),
    metadata,
    on_behalf_of: null,
    proration_behavior: prorationBehavior,
    start_date: start,
    transfer_data: null,
    trial_end: null,
  };
}

async function emitSubscriptionChange(b: Account, sub: Stripe.Subscription, at: number, previous: Record<string, unknown>) {
  await b.store.put(sub);
  await b.events.emit("customer.subscription.updated", sub, at, previous);
}

async function createFromSubscription(b: Account, p: Params): Promise<Schedule> {
  const subId = str(p.from_subscription);
  if (!subId) throw invalid("Missing required param: customer.", "customer");
  for (const key of ["phases", "customer", "start_date", "end_behavior", "default_settings"])
    if (p[key] !== undefined) throw invalid(`You cannot set \`${key}\` if \`from_subscription\` is set.`, key);
  const sub = await subscription(b, subId);
  if (["canceled", "incomplete_expired"].includes(sub.status)) throw invalid(`You cannot migrate a subscription that is ${sub.status}.`, "from_subscription");
  if (sub.schedule) throw invalid(`You cannot migrate a subscription that is already attached to a schedule: \`${sub.schedule}\`.`, "from_subscription");
  const now = await b.nowFor(sub.customer as string);
  const item = sub.items.data[0];
  const s: Schedule = {
    id: newId("sub_sched"),
    object: "subscription_schedule",
    application: null,
    // Made from a subscription, the schedule manages it in the subscription's own mode.
    billing_mode: sub.billing_mode,
    canceled_at: null,
    completed_at: null,
    created: now,
    current_phase: { start_date: item.current_period_start, end_date: item.current_period_end },
    customer: sub.customer as string,
    customer_account: null,
    default_settings: {
      application_fee_percent: null,
      billing_cycle_anchor: "automatic",
      billing_thresholds: null,
      collection_method: "charge_automatically",
      default_payment_method: null,
      description: null,
      invoice_settings: { account_tax_ids: null, custom_fields: null, days_until_due: null, description: null, footer: null, issuer: { type: "self" } },
      on_behalf_of: null,
      transfer_data: null,
    },
    end_behavior: "release",
    livemode: false,
    metadata: meta(p.metadata),
    pause_schedules: [],
    phases: [
      phase(
        sub.items.data.map((i) => i.price),
        item.current_period_start,
        item.current_period_end,
        "create_prorations",
      ),
    ],
    released_at: null,
    released_subscription: null,
    status: "active",
    subscription: sub.id,
    test_clock: sub.test_clock,
  };
  await b.store.put(s);
  await b.events.emit("subscription_schedule.created", s, now);
  sub.schedule = s.id;
  await emitSubscriptionChange(b, sub, now, { schedule: null });
  return s;
}

/** Replaces the phases (and end behavior, metadata) of an active schedule, as Stripe validates them. */
async function updateSchedule(b: Account, id: string, p: Params): Promise<Schedule> {
  const s = await schedule(b, id);
  if (!OPEN.has(s.status))
    throw invalid(
      `You cannot update a subscription schedule that is currently in the \`${s.status}\` status. It must be in one of the following statuses: \`not_started\`, \`active\`.`,
    );
  const sub = await subscription(b, s.subscription as string);
  const now = await b.nowFor(s.customer as string);
  const previous: Record<string, unknown> = {};
  const endBehavior = str(p.end_behavior);
  if (endBehavior) {
    if (!["release", "cancel", "none", "renew"].includes(endBehavior)) throw invalid(`Invalid end_behavior: ${endBehavior}`, "end_behavior");
    previous.end_behavior = s.end_behavior;
    s.end_behavior = endBehavior;
  }
  if (p.metadata !== undefined) {
    previous.metadata = s.metadata;
    s.metadata = { ...s.metadata, ...meta(p.metadata) };
  }
  if (p.phases !== undefined) {
    const input = arr(p.phases).map((x) => obj(x));
    if (input.length === 0) throw invalid("Missing required param: phases.", "phases");
    const phases: Phase[] = [];
    let start = s.current_phase?.start_date ?? s.phases[0].start_date;
    for (const [i, raw] of input.entries()) {
      const given = raw.start_date === "now" ? now : int(raw.start_date);
      // Stripe: `start_date` "must be set on the first phase"; `duration` and `end_date` exclude each other.
      if (i === 0 && given === undefined) throw invalid("Missing required param: phases[0][start_date].", "phases[0][start_date]");
      if (i === 0 && given !== start) throw invalid("You can not modify the start date of the current phase.", "phases[0][start_date]");
      if (raw.duration !== undefined && raw.end_date !== undefined)
        throw invalid("You may only specify one of these parameters: duration, end_date.", `phases[${i}][duration]`);
      if (i > 0 && given !== undefined && given !== start)
        throw invalid(`The start_date of phases[${i}] must equal the end_date of the phase before it.`, `phases[${i}][start_date]`);
      const items = arr(raw.items);
      if (items.length === 0) throw invalid(`Missing required param: phases[${i}][items][0][price].`, `phases[${i}][items]`);
      const prices = await itemPrices(b, items, `phases[${i}][items]`);
      await refuseOtherCurrency(b, s.customer as string, prices[0].currency, `phases[${i}][items]`);
      const duration = obj(raw.duration);
      const months = int(duration.interval_count) ?? 1;
      if (duration.interval !== undefined && str(duration.interval) !== "month")
        throw invalid("The local Stripe supports monthly phase durations only.", `phases[${i}][duration][interval]`);
      const end = raw.end_date === "now" ? now : (int(raw.end_date) ?? addMonths(start, months));
      if (end <= start) throw invalid(`phases[${i}][end_date] must be after its start_date.`, `phases[${i}][end_date]`);
      if (i === 0 && end <= now) throw invalid("The end_date of the current phase must be in the future.", "phases[0][end_date]");
      // A phase's own setting, for the transition into it; the request's `proration_behavior` is
      // only for this update's change to the current phase (Stripe keeps the two apart).
      const behavior = (str(raw.proration_behavior) ?? "create_prorations") as Stripe.SubscriptionSchedule.Phase.ProrationBehavior;
      phases.push(phase(prices, start, end, behavior, meta(raw.metadata)));
      start = end;
    }
    previous.phases = s.phases;
    s.phases = phases;
    s.current_phase = { start_date: phases[0].start_date, end_date: phases[0].end_date };
    // The current phase's price applies to the subscription now.
    const currentPrice = phases[0].items[0].price as string;
    const currentPrices = await Promise.all(phases[0].items.map((x) => b.price(x.price as string)));
    const metered = currentPrices.filter(isMetered);
    const meteredChanges =
      metered.map((x) => x.id).join() !==
      meteredItems(sub)
        .map((x) => x.price.id)
        .join();
    if (currentPrice !== sub.items.data[0].price.id || meteredChanges) {
      const subPrevious = { items: structuredClone(sub.items) };
      const lines =
        currentPrice === sub.items.data[0].price.id
          ? []
          : await changePrice(b, sub, await b.price(currentPrice), str(p.proration_behavior) ?? "create_prorations", now);
      const closing = await syncMeteredItems(
        b,
        sub,
        metered.map((price) => ({ price })),
        now,
        sub.items.data[0].current_period_start,
      );
      if (closing.length > 0) await setPendingItems(b, sub.id, [...(await pendingItems(b, sub.id)), ...closing]);
      await emitSubscriptionChange(b, sub, now, subPrevious);
      if (lines.length > 0) await createInvoice(b, sub, lines, "subscription_update", now);
    }
  }
  await b.store.put(s);
  await b.events.emit("subscription_schedule.updated", s, now, previous);
  return s;
}

/** Detaches the schedule; the subscription keeps its current state and goes on by itself. */
async function release(b: Account, s: Schedule, at: number): Promise<Schedule> {
  const subId = s.subscription as string;
  Object.assign(s, { status: "released", released_at: at, released_subscription: subId, subscription: null, current_phase: null });
  await b.store.put(s);
  await b.events.emit("subscription_schedule.released", s, at);
  const sub = await subscription(b, subId);
  if (sub.schedule === s.id) {
    sub.schedule = null;
    await emitSubscriptionChange(b, sub, at, { schedule: s.id });
  }
  return s;
}

/** At the end of the current phase: the next phase's price applies, or the schedule ends. */
export async function advanceSchedule(b: Account, s: Schedule, at: number) {
  const index = s.phases.findIndex((ph) => ph.start_date === s.current_phase?.start_date);
  const next = s.phases[index + 1];
  if (!next) {
    if (s.end_behavior === "cancel") {
      Object.assign(s, { status: "completed", completed_at: at, current_phase: null });
      await b.store.put(s);
      await b.events.emit("subscription_schedule.completed", s, at);
      await cancelNow(b, await subscription(b, s.subscription as string), at);
    } else {
      await release(b, s, at);
    }
    return;
  }
  const sub = await subscription(b, s.subscription as string);
  const previous = { items: structuredClone(sub.items) };
  const prices = await Promise.all(next.items.map((x) => b.price(x.price as string)));
  const price = prices.find((x) => !isMetered(x)) ?? prices[0];
  const metered = prices.filter(isMetered);
  const meteredChanges =
    metered.map((x) => x.id).join() !==
    meteredItems(sub)
      .map((x) => x.price.id)
      .join();
  if (price.id !== sub.items.data[0].price.id || meteredChanges) {
    // At a period boundary nothing is left to prorate; the renewal invoice bills the new price.
    const atBoundary = at === sub.items.data[0].current_period_end;
    const lines = price.id === sub.items.data[0].price.id ? [] : await changePrice(b, sub, price, atBoundary ? "none" : next.proration_behavior, at);
    sub.items.data[0].plan = legacyPlan(price);
    // Metered items leaving bill their usage so far on the next invoice (at the boundary, the
    // renewal's); new ones start here, at the boundary, so the ending period is not billed twice.
    const closing = await syncMeteredItems(
      b,
      sub,
      metered.map((x) => ({ price: x })),
      at,
      atBoundary ? at : sub.items.data[0].current_period_start,
    );
    if (closing.length > 0) await setPendingItems(b, sub.id, [...(await pendingItems(b, sub.id)), ...closing]);
    await emitSubscriptionChange(b, sub, at, previous);
    if (lines.length > 0) await createInvoice(b, sub, lines, "subscription_update", at);
  }
  s.current_phase = { start_date: next.start_date, end_date: next.end_date };
  await b.store.put(s);
  await b.events.emit("subscription_schedule.updated", s, at, {
    current_phase: { start_date: s.phases[index].start_date, end_date: s.phases[index].end_date },
  });
}

const endBehavior = oneOf("release", "cancel", "none", "renew");
// A phase's parameters (`iterations` is gone since 2025-08-27: `duration` replaced it). A new
// schedule's phases have no `start_date`: the schedule's own `start_date` starts the first.
const phaseParams = {
  items: array(object({ price: string, plan: string, quantity: integer({ min: 1 }) })),
  end_date: timestamp("now"),
  duration: object({ interval: oneOf("day", "week", "month", "year"), interval_count: integer({ min: 1 }) }),
  proration_behavior: oneOf("create_prorations", "none", "always_invoice"),
  metadata,
};
const phases = array(object({ ...phaseParams, start_date: timestamp("now") }));

export const scheduleRoutes: Route[] = [
  [
    "POST",
    /^\/v1\/subscription_schedules$/,
    {
      from_subscription: string,
      customer: string,
      start_date: timestamp("now"),
      end_behavior: endBehavior,
      phases: array(object(phaseParams)),
      metadata,
      default_settings: object({}),
    },
    async (b, p) => {
      if (!str(p.from_subscription)) throw invalid("The local Stripe creates subscription schedules from_subscription only.", "from_subscription");
      return createFromSubscription(b, p);
    },
  ],
  [
    "GET",
    /^\/v1\/subscription_schedules$/,
    { ...listParams, customer: string },
    async (b, p) => {
      const all = await b.store.list<Schedule>("subscription_schedule", (s) => !str(p.customer) || s.customer === str(p.customer));
      const limit = Math.min(100, Math.max(1, int(p.limit) ?? 10));
      return { object: "list", data: all.slice(0, limit), has_more: all.length > limit, url: "/v1/subscription_schedules" };
    },
  ],
  ["GET", /^\/v1\/subscription_schedules\/([^/]+)$/, {}, async (b, _p, [id]) => schedule(b, id)],
  [
    "POST",
    /^\/v1\/subscription_schedules\/([^/]+)$/,
    { end_behavior: endBehavior, phases, proration_behavior: oneOf("create_prorations", "none", "always_invoice"), metadata },
    async (b, p, [id]) => updateSchedule(b, id, p),
  ],
  [
    "POST",
    /^\/v1\/subscription_schedules\/([^/]+)\/release$/,
    { preserve_cancel_date: boolean },
    async (b, _p, [id]) => {
      const s = await schedule(b, id);
      if (!OPEN.has(s.status)) throw invalid(`You cannot release a subscription schedule that is currently in the \`${s.status}\` status.`);
      return release(b, s, await b.nowFor(s.customer as string));
    },
  ],
  [
    "POST",
    /^\/v1\/subscription_schedules\/([^/]+)\/cancel$/,
    { invoice_now: boolean, prorate: boolean },
    async (b, _p, [id]) => {
      const s = await schedule(b, id);
      if (!OPEN.has(s.status)) throw invalid(`You cannot cancel a subscription schedule that is currently in the \`${s.status}\` status.`);
      // Canceling a schedule cancels its subscription now (cancelNow cancels the schedule first).
      await cancelNow(b, await subscription(b, s.subscription as string), await b.nowFor(s.customer as string));
      return schedule(b, id);
    },
  ],
];

// Test clocks: create, retrieve, advance (the advance itself lives in clock.ts), delete, and
// their end: Stripe deletes a clock at its `deletes_after`, with every object on it.
import type Stripe from "stripe";
import { type Account, invalid, missing } from "./account";
import { advanceClock } from "./clock";
import { int, str } from "./form";
import { integer, string } from "./params";
import type { Route } from "./route";
import { newId, type Store } from "./store";

/** How long a clock lives: Stripe's reference shows `deletes_after` 7 days after `created`. */
export const TEST_CLOCK_LIFETIME_SECONDS = 7 * 86_400;
const lifetimes = new WeakMap<Store, number>();
export function setTestClockLifetime(store: Store, seconds: number) {
  lifetimes.set(store, seconds);
}
export const testClockLifetime = (store: Store) => lifetimes.get(store) ?? TEST_CLOCK_LIFETIME_SECONDS;

/** What lives on a clock's customers and goes with them (meter events and events stay, as usage and logs). */
const ON_THE_CLOCK = ["subscription", "subscription_schedule", "invoice", "payment_method", "checkout.session", "billing_portal.session"];

/**
 * Deletes a clock as Stripe does at its `deletes_after`: its customers become deleted customers
 * (`{ id, object, deleted: true }`, refused for anything new), everything else on them is gone
 * (resource_missing), and `test_helpers.test_clock.deleted` is sent.
 */
export async function deleteTestClock(b: Account, clock: Stripe.TestHelpers.TestClock): Promise<Stripe.TestHelpers.DeletedTestClock> {
  const customers = (await b.store.list<Stripe.Customer>("customer", (c) => c.test_clock === clock.id)).map((c) => c.id);
  const removed = await b.store.sql<{ id: string; type: string }[]>`
    delete from objects where customer = any(${customers}) and type = any(${ON_THE_CLOCK}) returning id, type`;
  const pending = removed.filter((o) => o.type === "subscription").map((o) => `pending_${o.id}`);
  await b.store.sql`delete from objects where id = any(${[clock.id, ...pending]})`;
  for (const id of customers) await b.store.put({ id, object: "customer", deleted: true } as Stripe.DeletedCustomer);
  await b.events.emit("test_helpers.test_clock.deleted", clock, Math.floor(Date.now() / 1000));
  return { id: clock.id, object: "test_helpers.test_clock", deleted: true };
}

/** Stripe's own sweep: every clock whose `deletes_after` has come (in real time) is deleted. */
export async function deleteExpiredTestClocks(b: Account, now = Math.floor(Date.now() / 1000)): Promise<void> {
  for (const clock of await b.store.list<Stripe.TestHelpers.TestClock>("test_helpers.test_clock", (c) => c.deletes_after <= now))
    await deleteTestClock(b, clock);
}

const clockOf = async (b: Account, id: string) =>
  (await b.store.get<Stripe.TestHelpers.TestClock>(id)) ?? Promise.reject(missing("test_helpers.test_clock", id));

export const testClockRoutes: Route[] = [
  [
    "POST",
    /^\/v1\/test_helpers\/test_clocks$/,
    { frozen_time: integer({ min: 0 }), name: string },
    async (b, p) => {
      const frozen = int(p.frozen_time);
      if (!frozen) throw invalid("Missing required param: frozen_time.", "frozen_time");
      const created = Math.floor(Date.now() / 1000);
      const clock: Stripe.TestHelpers.TestClock = {
        id: newId("clock"),
        object: "test_helpers.test_clock",
        created,
        deletes_after: created + testClockLifetime(b.store),
        frozen_time: frozen,
        livemode: false,
        name: str(p.name) ?? null,
        status: "ready",
        status_details: {},
      };
      await b.store.put(clock);
      return clock;
    },
  ],
  ["GET", /^\/v1\/test_helpers\/test_clocks\/([^/]+)$/, {}, async (b, _p, [id]) => clockOf(b, id)],
  ["DELETE", /^\/v1\/test_helpers\/test_clocks\/([^/]+)$/, {}, async (b, _p, [id]) => deleteTestClock(b, await clockOf(b, id))],
  [
    "POST",
    /^\/v1\/test_helpers\/test_clocks\/([^/]+)\/advance$/,
    { frozen_time: integer({ min: 0 }) },
    async (b, p, [id]) => advanceClock(b, id, int(p.frozen_time) ?? 0),
  ],
];

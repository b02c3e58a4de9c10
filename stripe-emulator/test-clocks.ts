// Test clocks: create, retrieve, advance (the advance itself lives in clock.ts).
import type Stripe from "stripe";
import { invalid, missing } from "./account";
import { advanceClock } from "./clock";
import { int, str } from "./form";
import { integer, string } from "./params";
import type { Route } from "./route";
import { newId } from "./store";

export const testClockRoutes: Route[] = [
  [
    "POST",
    /^\/v1\/test_helpers\/test_clocks$/,
    { frozen_time: integer({ min: 0 }), name: string },
    async (b, p) => {
      const frozen = int(p.frozen_time);
      if (!frozen) throw invalid("Missing required param: frozen_time.", "frozen_time");
      const clock: Stripe.TestHelpers.TestClock = {
        id: newId("clock"),
        object: "test_helpers.test_clock",
        created: Math.floor(Date.now() / 1000),
        deletes_after: Math.floor(Date.now() / 1000) + 30 * 86_400,
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
  [
    "GET",
    /^\/v1\/test_helpers\/test_clocks\/([^/]+)$/,
    {},
    async (b, _p, [id]) => (await b.store.get(id)) ?? Promise.reject(missing("test_helpers.test_clock", id)),
  ],
  [
    "POST",
    /^\/v1\/test_helpers\/test_clocks\/([^/]+)\/advance$/,
    { frozen_time: integer({ min: 0 }) },
    async (b, p, [id]) => advanceClock(b, id, int(p.frozen_time) ?? 0),
  ],
];

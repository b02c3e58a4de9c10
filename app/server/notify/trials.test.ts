// subscription.trial_will_end: Stripe's webhook and the hourly sweep emit one notice between them.
import { describe, expect, test } from "bun:test";
import { orgWithKey, setSubscriptionMirror } from "../../../test/factories";
import { sql } from "../platform/db.server";
import { emitForStripeEvent } from "./stripe-facts.server";
import { notifyEndingTrials } from "./trials.server";

const DAY = 86_400_000;
const notices = (orgId: string) => sql`select data from events where org_id = ${orgId} and type = 'subscription.trial_will_end'`;

describe("trial ending notices", () => {
  test("a trial ending within three days gets one notice, from the sweep or Stripe's webhook, whichever comes first", async () => {
    const { orgId } = await orgWithKey({ plan: null });
    const late = await orgWithKey({ plan: null });
    await setSubscriptionMirror({ orgId, planCode: "trial", start: new Date(Date.now() - 12 * DAY) }); // ends in 2 days
    await setSubscriptionMirror({ orgId: late.orgId, planCode: "trial", start: new Date(Date.now() - 5 * DAY) }); // ends in 9 days
    await sql`update subscriptions set stripe_subscription_id = ${`sub_${orgId}`} where org_id = ${orgId}`;
    await notifyEndingTrials();
    await notifyEndingTrials();
    await emitForStripeEvent({ id: "evt_trial", type: "customer.subscription.trial_will_end", objectId: `sub_${orgId}` });
    const events = await notices(orgId);
    expect(events).toHaveLength(1);
    expect(events[0].data).toMatchObject({ planCode: "trial" });
    expect(await notices(late.orgId)).toHaveLength(0);
  });
});

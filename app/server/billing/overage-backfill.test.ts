// ops overage:backfill against the local Stripe: a growth subscription made before overage existed
// (only its flat price in Stripe) is listed by a dry run, gets its metered overage items with
// --apply (one per feature, the plan's overage prices, no proration invoice), and a second run
// adds nothing; a starter subscription (no overage) and a complete one are left as they are.
import { describe, expect, test } from "bun:test";
import { commands } from "../../../cli/commands";
import { billingSettled, newOrg, startBillingSystem } from "../../../test/billing";
import { subscribeThroughStripe } from "../ops/sandbox.server";
import { sql } from "../platform/db.server";
import { backfillOverageItems } from "./overage-backfill.server";
import { stripe } from "./stripe-client.server";
import { overagePricesFor } from "./stripe-overage.server";

const system = startBillingSystem();

const subscriptionOf = async (orgId: string) =>
  (await sql<{ stripe_subscription_id: string }[]>`select stripe_subscription_id from subscriptions where org_id = ${orgId}`)[0].stripe_subscription_id;

const meteredOf = async (subscriptionId: string) =>
  (await stripe.subscriptions.retrieve(subscriptionId)).items.data
    .filter((i) => i.price.recurring?.usage_type === "metered")
    .map((i) => i.price.id)
    .sort();

describe("ops overage:backfill", () => {
  test("adds the missing overage items once, idempotently, and only where the plan sells overage", async () => {
    const [old, complete, starter] = [await newOrg(), await newOrg(), await newOrg()];
    await subscribeThroughStripe(old, "growth");
    await subscribeThroughStripe(complete, "growth");
    await subscribeThroughStripe(starter, "starter");
    await billingSettled(system);
    const oldSub = await subscriptionOf(old);
    const wanted = (await overagePricesFor("growth")).map((p) => p.priceId).sort();
    expect(wanted).toHaveLength(2);
    expect(await meteredOf(oldSub)).toEqual(wanted);
    // As a subscription made before overage existed: its metered items gone, only the flat price.
    const items = (await stripe.subscriptions.retrieve(oldSub)).items.data.filter((i) => i.price.recurring?.usage_type === "metered");
    await stripe.subscriptions.update(oldSub, { items: items.map((i) => ({ id: i.id, deleted: true })), proration_behavior: "none" });
    expect(await meteredOf(oldSub)).toEqual([]);
    const invoicesBefore = (await stripe.invoices.list({ subscription: oldSub, limit: 100 })).data.length;

    const mine = (rows: Awaited<ReturnType<typeof backfillOverageItems>>) => rows.filter((r) => [old, complete, starter].includes(r.orgId));
    const dry = mine(await backfillOverageItems({ apply: false }));
    expect(dry.map((r) => [r.orgId, r.outcome, r.missing])).toEqual(
      [
        [old, "missing", ["api_call", "tokens"]],
        [complete, "complete", []],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    expect(await meteredOf(oldSub)).toEqual([]); // a dry run changes nothing

    const applied = mine(await backfillOverageItems({ apply: true }));
    expect(applied.find((r) => r.orgId === old)).toMatchObject({ outcome: "added", missing: ["api_call", "tokens"] });
    expect(await meteredOf(oldSub)).toEqual(wanted);
    // No proration: nothing is invoiced now.
    expect((await stripe.invoices.list({ subscription: oldSub, limit: 100 })).data.length).toBe(invoicesBefore);

    // Again: nothing to add, nothing added.
    const again = mine(await backfillOverageItems({ apply: true }));
    expect(again.map((r) => r.outcome)).toEqual(["complete", "complete"]);
    expect(await meteredOf(oldSub)).toEqual(wanted);
    const human = commands["overage:backfill"].human(again);
    expect(human).toContain("carries its overage items");
  }, 60_000);
});

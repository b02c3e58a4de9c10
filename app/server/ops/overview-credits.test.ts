// Credits and overage where operators look (issue 23): /admin's org search and
// `bun run ops usage` show, per org, the prepaid credits left and the overage charged so far this
// period, the figures the admission itself decides on.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { commands } from "../../../cli/commands";
import { startStripeWithoutWebhooks } from "../../../test/billing";
import { orgWithKey, rid } from "../../../test/factories";
import { sql } from "../platform/db.server";
import { recordUsage } from "../usage/engine.server";
import { searchOrgs } from "./org-directory.server";

let stopStripe: () => Promise<void>;
beforeAll(async () => {
  const local = await startStripeWithoutWebhooks();
  stopStripe = () => local.stop();
});
afterAll(async () => {
  await stopStripe();
});

describe("credits and overage for operators", () => {
  test("/admin and ops usage show the credits left and the overage so far", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    // 10 included api_call units at 50 cents per 1000 past them, 30 prepaid credits.
    await sql`
      insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used, overage_price_cents, overage_per)
      select org_id, 'api_call', period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), 10, 0, 50, 1000
        from subscriptions where org_id = ${orgId}`;
    await sql`insert into credit_grants (id, org_id, metric, units, remaining, source, source_id, expires_at, granted_at)
              values (${`cg_ops_${orgId}`}, ${orgId}, 'api_call', 30, 30, 'admin', ${`cg_ops_${orgId}`}, now() + interval '365 days', now())`;
    // 10 included, 30 credits, 3000 overage units: 3000 × 50 / 1000 = 150 cents.
    await recordUsage({ orgId, requestId: rid(), metric: "api_call", quantity: 3_040 });
    await recordUsage({ orgId, requestId: rid(), metric: "api_call", quantity: 1 }); // 3001 units: 150.05, rounds to 150

    const listed = async () => (await searchOrgs({ q: orgId, page: 1 })).rows.find((o) => o.id === orgId);
    const row = await listed();
    expect(row).toMatchObject({ plan_code: "growth", used: 3_041, included: 10, credits_left: 0, overage_cents: 150, currency: "usd" });

    await sql`insert into credit_grants (id, org_id, metric, units, remaining, source, source_id, expires_at, granted_at)
              values (${`cg_ops2_${orgId}`}, ${orgId}, 'api_call', 500, 500, 'admin', ${`cg_ops2_${orgId}`}, now() + interval '365 days', now())`;
    expect((await listed())?.credits_left).toBe(500);

    const usage = commands.usage;
    const result = (await usage.run([orgId], {} as Parameters<typeof usage.run>[1])) as {
      credits: { remaining: number };
      overage: { unitsSoFar: number; chargeCents: number };
    };
    expect(result.credits.remaining).toBe(500);
    expect(result.overage).toMatchObject({ unitsSoFar: 3_001, chargeCents: 150 });
    expect(usage.human(result)).toContain("credits: 500 left (30 spent this period); overage: 3,001 units so far, charge 150 cents");
  }, 30_000);
});

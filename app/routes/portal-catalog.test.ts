// The portal follows the catalog (issue 22): the dashboard's loader answers a meter and a daily
// chart per metered feature of the org's plan, read by metric; the billing page's loader gives
// the plan cards the catalog's features and the org's current allowances; the billing action
// takes the switch's interval.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../test/app";
import { signIn } from "../../test/billing";
import { orgWithKey, setSubscriptionMirror } from "../../test/factories";
import { sql } from "../server/platform/db.server";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app?.stop();
});

const DAY = 86_400_000;
type Meter = { feature: string; unit: string; used: number; included: number; remaining: number; days: { day: string; quantity: number }[]; overage: unknown };

const loaderData = async <T>(cookie: string, page: "dashboard" | "billing") => {
  const r = await fetch(`${app.url}/${page}?_data=routes/_portal.${page}`, { headers: { cookie } });
  expect(r.status).toBe(200);
  return (await r.json()) as T;
};

/** Usage of a metric as the engine leaves it: this period's counter and the hourly rollup. */
async function counted(orgId: string, metric: string, quantity: number, at: Date) {
  await sql`
    insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used)
    select org_id, ${metric}, period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'),
           (select included from plan_version_features f where f.plan_code = s.plan_code and f.feature = ${metric}
             order by f.version desc limit 1), ${quantity}
      from subscriptions s where org_id = ${orgId}`;
  await sql`insert into usage_hourly (org_id, metric, hour, quantity) values (${orgId}, ${metric}, date_trunc('hour', ${at.toISOString()}::timestamptz), ${quantity})`;
}

describe("dashboard loader", () => {
  test("answers a meter with its daily usage for every metered feature of the plan, read by metric", async () => {
    const { orgId } = await orgWithKey();
    await setSubscriptionMirror({ orgId, planCode: "starter", start: new Date(Date.now() - 3 * DAY) });
    const twoDaysAgo = new Date(Date.now() - 2 * DAY);
    await counted(orgId, "api_call", 120, twoDaysAgo);
    await counted(orgId, "tokens", 4_600_000, twoDaysAgo);
    const { meters } = await loaderData<{ meters: Meter[] }>(await signIn(app, orgId), "dashboard");

    expect(meters.map(({ days, ...m }) => m)).toEqual([
      // Starter sells no overage: no overage figures.
      {
        feature: "api_call",
        unit: "call",
        used: 120,
        included: 50_000,
        remaining: 49_880,
        periodStart: expect.any(String),
        periodEnd: expect.any(String),
        overage: null,
      },
      {
        feature: "tokens",
        unit: "token",
        used: 4_600_000,
        included: 5_000_000,
        remaining: 400_000,
        periodStart: expect.any(String),
        periodEnd: expect.any(String),
        overage: null,
      },
    ] as unknown as Meter[]);
    const day = twoDaysAgo.toISOString().slice(0, 10);
    for (const [feature, quantity] of [
      ["api_call", 120],
      ["tokens", 4_600_000],
    ] as const) {
      const meter = meters.find((m) => m.feature === feature)!;
      expect(meter.days.filter((d) => d.quantity > 0)).toEqual([{ day, quantity }]);
      expect(meter.days.length).toBeGreaterThanOrEqual(3); // quiet days of the period show as zero
    }
  });

  test("a metered feature nothing was counted for yet has its meter at 0 of the plan version's units", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    const { meters } = await loaderData<{ meters: Meter[] }>(await signIn(app, orgId), "dashboard");
    expect(meters.map((m) => [m.feature, m.used, m.included])).toEqual([
      ["api_call", 0, 250_000],
      ["tokens", 0, 25_000_000],
    ]);
    expect(meters.every((m) => m.days.every((d) => d.quantity === 0))).toBe(true);
    // Growth sells overage on both: none so far, none projected.
    expect(meters.map((m) => m.overage)).toEqual([
      { priceCents: 50, per: 1000, units: 0, cents: 0, projectedUnits: 0, projectedCents: 0 },
      { priceCents: 200, per: 1_000_000, units: 0, cents: 0, projectedUnits: 0, projectedCents: 0 },
    ]);
  });

  test("a past period answers its credits used and its overage charged at that period's price, not today's", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    const start = new Date(Date.now() - 40 * DAY);
    const end = new Date(Date.now() - 10 * DAY);
    // The counters as the engine left them: api_call past its included units and credits at the
    // price the period started with (a price unlike today's), tokens within them and no overage price.
    await sql`
      insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used, credit_used, overage_used, overage_price_cents, overage_per)
      values (${orgId}, 'api_call', ${start.toISOString()}, ${end.toISOString()}, 'past', 1000, 4501, 1500, 2001, 70, 1000),
             (${orgId}, 'tokens', ${start.toISOString()}, ${end.toISOString()}, 'past', 5000, 1200, 0, 0, null, null)`;
    const cookie = await signIn(app, orgId);
    const { periods } = await loaderData<{ periods: { start: string }[] }>(cookie, "dashboard");
    expect(periods.map((p) => p.start)).toEqual([start.toISOString()]);
    const r = await fetch(`${app.url}/dashboard?${new URLSearchParams({ period: start.toISOString(), _data: "routes/_portal.dashboard" })}`, {
      headers: { cookie },
    });
    const { past } = (await r.json()) as { past: ({ days: unknown[] } & Record<string, unknown>)[] };
    expect(past.map(({ days, ...c }) => c)).toEqual([
      // 2,001 units at 70 cents per 1,000: 140.07 cents, rounded half up to 140.
      { metric: "api_call", used: 4501, included: 1000, creditUsed: 1500, overage: { priceCents: 70, per: 1000, units: 2001, cents: 140 } },
      { metric: "tokens", used: 1200, included: 5000, creditUsed: 0, overage: null },
    ]);
    // The page shows the credits line only when some were used, the overage line only where the plan sold overage.
    const html = await (await fetch(`${app.url}/dashboard?${new URLSearchParams({ period: start.toISOString() })}`, { headers: { cookie } })).text();
    expect(html).toMatch(/data-testid="past-credits-api_call"[\s\S]*?1,500 calls/);
    expect(html).toMatch(/data-testid="past-overage-api_call"[\s\S]*?\$1\.40/);
    expect(html).not.toContain("past-credits-tokens");
    expect(html).not.toContain("past-overage-tokens");
  });

  test("without a live subscription there are no meters", async () => {
    const { orgId } = await orgWithKey();
    await setSubscriptionMirror({ orgId, planCode: "starter", status: "canceled" });
    const data = await loaderData<{ meters: Meter[]; subscription: { status: string } }>(await signIn(app, orgId), "dashboard");
    expect(data.subscription.status).toBe("canceled");
    expect(data.meters).toEqual([]);
  });
});

type Billing = {
  plans: { code: string; priceMonthly: number; priceYearly: number | null; features: Record<string, unknown> }[];
  features: Record<string, { type: string; unit?: string }>;
  current: Record<string, unknown>[] | null;
  interval: "month" | "year";
};

describe("billing loader and action", () => {
  test("the plan cards get the catalog's features, yearly prices, and what the org has now", async () => {
    const { orgId } = await orgWithKey({ plan: "starter" });
    const data = await loaderData<Billing>(await signIn(app, orgId), "billing");
    expect(data.features).toEqual({
      api_call: { type: "metered", unit: "call" },
      tokens: { type: "metered", unit: "token" },
      seats: { type: "numeric" },
      webhooks: { type: "boolean" },
      sso: { type: "boolean" },
    });
    const pro = data.plans.find((p) => p.code === "pro")!;
    expect(pro).toMatchObject({ priceMonthly: 29_900, priceYearly: 299_000 });
    expect(pro.features).toMatchObject({ tokens: { included: 100_000_000 }, seats: { limit: null }, sso: true });
    expect(data.current).toContainEqual({
      feature: "tokens",
      type: "metered",
      unit: "token",
      included: 5_000_000,
      used: 0,
      remaining: 5_000_000,
      allow: true,
      credits: { remaining: 0, usedThisPeriod: 0 },
      overage: null,
    });
    expect(data.current).toContainEqual({ feature: "sso", type: "boolean", granted: false });
    expect(data.current).toContainEqual({ feature: "seats", type: "numeric", limit: 3 });
    expect(data.interval).toBe("month"); // the switch starts on how the org is billed now
  });

  test("for a yearly subscriber the switch starts on yearly", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    await sql`update subscriptions set billing_interval = 'year' where org_id = ${orgId}`;
    expect((await loaderData<Billing>(await signIn(app, orgId), "billing")).interval).toBe("year");
  });

  test("a scheduled switch to the same plan's other interval names the interval, on the billing page and the dashboard", async () => {
    const { orgId } = await orgWithKey({ plan: "pro" });
    await sql`update subscriptions set billing_interval = 'year', pending_plan_code = 'pro' where org_id = ${orgId}`;
    const cookie = await signIn(app, orgId);
    // React puts <!-- --> between the text's parts.
    const text = async (page: string) => (await (await fetch(`${app.url}/${page}`, { headers: { cookie } })).text()).replaceAll("<!-- -->", "");
    expect(await text("billing")).toContain("You move to Pro, monthly on");
    expect(await text("dashboard")).toContain("Your plan changes to pro, monthly on");
    await sql`update subscriptions set billing_interval = 'month', pending_plan_code = 'starter' where org_id = ${orgId}`;
    expect(await text("billing")).toContain("You move to Starter on");
    // To another plan and interval at once: both are named (the mirror keeps the scheduled price's interval).
    await sql`update subscriptions set billing_interval = 'year', pending_plan_code = 'starter', pending_billing_interval = 'month' where org_id = ${orgId}`;
    expect(await text("billing")).toContain("You move to Starter, monthly on");
    expect(await text("dashboard")).toContain("Your plan changes to starter, monthly on");
  });

  test("an org without a plan has no current allowances", async () => {
    const { orgId } = await orgWithKey({ plan: null });
    expect((await loaderData<Billing>(await signIn(app, orgId), "billing")).current).toBeNull();
  });

  test("the switch's interval: monthly and yearly go on, anything else is refused in the envelope and changes nothing", async () => {
    const { orgId } = await orgWithKey({ plan: "starter" });
    const cookie = await signIn(app, orgId);
    const post = async (fields: Record<string, string>) => {
      const r = await fetch(`${app.url}/billing?_data=routes/_portal.billing`, {
        method: "POST",
        headers: { cookie, origin: app.url },
        body: new URLSearchParams(fields),
      });
      return { status: r.status, body: (await r.json()) as { ok: boolean; code?: string; error?: string } };
    };
    const before = await sql`select plan_code, status from subscriptions where org_id = ${orgId}`;
    for (const intent of ["checkout", "preview", "upgrade", "downgrade"]) {
      const weekly = await post({ intent, planCode: "growth", interval: "week" });
      expect([intent, weekly.status, weekly.body.error]).toEqual([intent, 400, "Pick monthly or yearly billing."]);
    }
    // Monthly and yearly pass the interval check: this mirror has no Stripe subscription, so the preview stops there.
    for (const interval of ["month", "year"]) {
      const preview = await post({ intent: "preview", planCode: "growth", interval });
      expect([interval, preview.body.code]).toEqual([interval, "SUBSCRIPTION_INACTIVE"]);
    }
    expect(await sql`select plan_code, status from subscriptions where org_id = ${orgId}`).toEqual(before);
  });
});

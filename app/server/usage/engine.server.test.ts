// The rules of the quota check and the usage record, through HTTP against the real app process and the real Postgres.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../../test/app";
import { api, countsOf, orgWithKey, rid } from "../../../test/factories";
import { createApiKey } from "../auth/keys.server";
import { sql } from "../platform/db.server";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app.stop();
});

const body = async (r: Response) => (await r.json()) as { ok: boolean; data: any; error: any };

describe("quota check", () => {
  test("a new period answers its plan's units, nothing used", async () => {
    const { key } = await orgWithKey({ plan: "starter" });
    const r = await api(app.url, key).quota("?metric=api_call");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const { ok, data } = await body(r);
    expect(ok).toBe(true);
    expect(data).toMatchObject({ allow: true, remaining: 50_000, used: 0, included: 50_000, metric: "api_call", planCode: "starter", status: "active" });
    expect(data.periodKey).toMatch(/^\d{4}-\d{2}$/);
    expect(Date.parse(data.periodEnd)).toBeGreaterThan(Date.parse(data.periodStart));
  });

  test("metric defaults to api_call", async () => {
    const { key } = await orgWithKey();
    const { data } = await body(await api(app.url, key).quota());
    expect(data.metric).toBe("api_call");
  });

  test("an exhausted quota is still a 200, with allow false", async () => {
    const { key } = await orgWithKey({ included: 3 });
    const c = api(app.url, key);
    expect((await c.record({ request_id: rid(), quantity: 3 })).status).toBe(200);
    const r = await c.quota();
    expect(r.status).toBe(200);
    expect((await body(r)).data).toMatchObject({ allow: false, remaining: 0, used: 3, included: 3 });
  });

  test("a trial answers the trial's units and status trialing", async () => {
    const { key } = await orgWithKey({ plan: "trial" });
    const { data } = await body(await api(app.url, key).quota());
    expect(data).toMatchObject({ planCode: "trial", status: "trialing", included: 1_000 });
  });

  test("no subscription is a 402 SUBSCRIPTION_INACTIVE", async () => {
    const { key } = await orgWithKey({ plan: null });
    const r = await api(app.url, key).quota();
    expect(r.status).toBe(402);
    expect((await body(r)).error.code).toBe("SUBSCRIPTION_INACTIVE");
  });
});

describe("record usage", () => {
  test("an admitted request is counted once and answers the new totals", async () => {
    const { orgId, key } = await orgWithKey();
    const id = rid();
    const r = await api(app.url, key).record({ request_id: id, metric: "api_call", quantity: 7 });
    expect(r.status).toBe(200);
    expect(r.headers.get("idempotent-replayed")).toBeNull();
    const { data } = await body(r);
    expect(data).toMatchObject({ request_id: id, metric: "api_call", quantity: 7, used: 7, remaining: 49_993, included: 50_000 });
    expect(Date.parse(data.recordedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(await countsOf(orgId)).toEqual({ used: 7, ledger: 7, rows: 1 });
    const q = await body(await api(app.url, key).quota());
    expect(q.data.used).toBe(7);
  });

  test("quantity defaults to 1 and metric to api_call", async () => {
    const { orgId, key } = await orgWithKey();
    const { data } = await body(await api(app.url, key).record({ request_id: rid() }));
    expect(data).toMatchObject({ quantity: 1, metric: "api_call", used: 1 });
    expect((await countsOf(orgId)).used).toBe(1);
  });

  test("a repeat answers the identical body with Idempotent-Replayed and counts nothing", async () => {
    const { orgId, key } = await orgWithKey();
    const c = api(app.url, key);
    const id = rid();
    const first = await c.record({ request_id: id, quantity: 2 });
    await c.record({ request_id: rid(), quantity: 5 }); // usage moves on in between
    const again = await c.record({ request_id: id, quantity: 2 });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.text()).toBe(await first.text());
    expect(await countsOf(orgId)).toEqual({ used: 7, ledger: 7, rows: 2 });
  });

  test("a repeat with a changed quantity is a 409 and counts nothing", async () => {
    const { orgId, key } = await orgWithKey();
    const c = api(app.url, key);
    const id = rid();
    await c.record({ request_id: id, quantity: 2 });
    const r = await c.record({ request_id: id, quantity: 3 });
    expect(r.status).toBe(409);
    expect((await body(r)).error).toMatchObject({ code: "IDEMPOTENCY_CONFLICT", details: { request_id: id } });
    expect(await countsOf(orgId)).toEqual({ used: 2, ledger: 2, rows: 1 });
  });

  test("over quota is a 429 with Retry-After and details, and nothing is counted", async () => {
    const { orgId, key } = await orgWithKey({ included: 10 });
    const c = api(app.url, key);
    expect((await c.record({ request_id: rid(), quantity: 8 })).status).toBe(200);
    const r = await c.record({ request_id: rid(), quantity: 3 });
    expect(r.status).toBe(429);
    const retryAfter = Number(r.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    const { error } = await body(r);
    expect(error.code).toBe("QUOTA_EXCEEDED");
    expect(error.details).toMatchObject({ used: 8, included: 10 });
    expect(error.details.periodKey).toMatch(/^\d{4}-\d{2}$/);
    expect(Math.abs(Date.parse(error.details.periodEnd) - Date.now() - retryAfter * 1000)).toBeLessThan(5000);
    expect(await countsOf(orgId)).toEqual({ used: 8, ledger: 8, rows: 1 });
    // Exactly up to the quota still fits.
    expect((await c.record({ request_id: rid(), quantity: 2 })).status).toBe(200);
    expect((await countsOf(orgId)).used).toBe(10);
  });

  test("a denied request_id is not burned: it succeeds once there is room", async () => {
    const { orgId, key } = await orgWithKey({ included: 5 });
    const c = api(app.url, key);
    await c.record({ request_id: rid(), quantity: 5 });
    const id = rid();
    expect((await c.record({ request_id: id, quantity: 4 })).status).toBe(429);
    await sql`update usage_counters set included = 100 where org_id = ${orgId}`; // what an upgrade does
    const r = await c.record({ request_id: id, quantity: 4 });
    expect(r.status).toBe(200);
    expect(r.headers.get("idempotent-replayed")).toBeNull();
    expect((await countsOf(orgId)).used).toBe(9);
  });

  test("a repeat of an admitted request while the quota is full replays the success, not a 429", async () => {
    const { key } = await orgWithKey({ included: 4 });
    const c = api(app.url, key);
    const id = rid();
    const first = await c.record({ request_id: id, quantity: 4 });
    expect((await c.record({ request_id: rid() })).status).toBe(429);
    const again = await c.record({ request_id: id, quantity: 4 });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.text()).toBe(await first.text());
  });

  test("request_ids are per org: the same id in two orgs counts in each", async () => {
    const a = await orgWithKey();
    const b = await orgWithKey();
    const id = rid();
    expect((await api(app.url, a.key).record({ request_id: id })).headers.get("idempotent-replayed")).toBeNull();
    expect((await api(app.url, b.key).record({ request_id: id })).headers.get("idempotent-replayed")).toBeNull();
    expect((await countsOf(a.orgId)).used).toBe(1);
    expect((await countsOf(b.orgId)).used).toBe(1);
  });

  test("no live subscription is a 402 and counts nothing", async () => {
    const none = await orgWithKey({ plan: null });
    const r = await api(app.url, none.key).record({ request_id: rid() });
    expect(r.status).toBe(402);
    expect((await body(r)).error.code).toBe("SUBSCRIPTION_INACTIVE");
    const canceled = await orgWithKey();
    await sql`update subscriptions set status = 'canceled' where org_id = ${canceled.orgId}`;
    const r2 = await api(app.url, canceled.key).record({ request_id: rid() });
    expect(r2.status).toBe(402);
    expect((await body(r2)).error.details.status).toBe("canceled");
    expect((await countsOf(canceled.orgId)).used).toBe(0);
  });

  test("past_due is live inside the grace period and inactive after it", async () => {
    const { orgId, key } = await orgWithKey();
    await sql`update subscriptions set status = 'past_due', period_start = now() - interval '2 days', period_end = now() + interval '28 days' where org_id = ${orgId}`;
    expect((await api(app.url, key).record({ request_id: rid() })).status).toBe(200);
    await sql`update subscriptions set period_start = now() - interval '8 days', period_end = now() + interval '22 days' where org_id = ${orgId}`;
    expect((await api(app.url, key).record({ request_id: rid() })).status).toBe(402);
  });
});

describe("attribution", () => {
  test("each admission records the key it came under, in the ledger and the hourly rollup; a replay from another key changes nothing", async () => {
    const { orgId, key, keyId } = await orgWithKey();
    const other = await createApiKey({ orgId, name: "second" });
    const first = api(app.url, key);
    const second = api(app.url, other.key);
    const id = rid();
    const original = await first.record({ request_id: id, quantity: 3 });
    expect(original.status).toBe(200);
    expect((await second.record({ request_id: rid(), quantity: 4 })).status).toBe(200);
    expect((await second.record({ request_id: rid(), quantities: { api_call: 2, tokens: 10 } })).status).toBe(200);
    // The same request_id from the other key: the identical answer, nothing counted, attribution kept.
    const replay = await second.record({ request_id: id, quantity: 3 });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.text()).toBe(await original.text());
    const ledger = await sql<{ key_id: string; metric: string; n: number }[]>`
      select key_id, metric, sum(quantity)::int as n from usage_events where org_id = ${orgId} group by 1, 2 order by 1, 2`;
    const hourly = await sql<{ key_id: string; metric: string; n: number }[]>`
      select key_id, metric, sum(quantity)::int as n from usage_hourly where org_id = ${orgId} group by 1, 2 order by 1, 2`;
    const expected = [
      { key_id: keyId, metric: "api_call", n: 3 },
      { key_id: other.id, metric: "api_call", n: 6 },
      { key_id: other.id, metric: "tokens", n: 10 },
    ].sort((a, b) => (a.key_id + a.metric < b.key_id + b.metric ? -1 : 1));
    expect([...ledger]).toEqual(expected);
    expect([...hourly]).toEqual(expected);
  });

  test("a caller without a key (the function called directly) records under '' in both", async () => {
    const { orgId } = await orgWithKey();
    await sql`select 1 from record_usage(${[orgId]}::text[], ${[rid()]}::text[], '{api_call}', '{2}', '3 days'::interval)`;
    const [row] = await sql<{ ledger: string; hourly: string }[]>`
      select (select string_agg(key_id, ',') from usage_events where org_id = ${orgId}) as ledger,
             (select string_agg(key_id, ',') from usage_hourly where org_id = ${orgId}) as hourly`;
    expect(row).toEqual({ ledger: "", hourly: "" });
  });
});

describe("the period boundary", () => {
  // The renewal webhook has not arrived: the mirror still says the period that just ended.
  const endPeriodAgo = (orgId: string, ago: string) =>
    sql`update subscriptions set period_start = now() - interval '1 month' - ${ago}::interval, period_end = now() - ${ago}::interval where org_id = ${orgId}`;

  test("usage after period end counts in the next period with its own counter", async () => {
    const { orgId, key } = await orgWithKey({ included: 5 });
    const c = api(app.url, key);
    await c.record({ request_id: rid(), quantity: 5 }); // old period full
    await endPeriodAgo(orgId, "1 minute");
    const r = await c.record({ request_id: rid(), quantity: 2 });
    expect(r.status).toBe(200);
    const { data } = await body(r);
    expect(data).toMatchObject({ used: 2, included: 50_000 }); // the next period's starter units
    const counters = await sql`select used, included from usage_counters where org_id = ${orgId} order by used desc`;
    expect(counters.map((x) => [x.used, x.included])).toEqual([
      [5, 5],
      [2, 50_000],
    ]);
    const q = await body(await c.quota());
    expect(Date.parse(q.data.periodStart)).toBeGreaterThan(Date.now() - 120_000);
  });

  test("a trial past its end renews as starter; a pending downgrade renews as the lower plan", async () => {
    const trial = await orgWithKey({ plan: "trial" });
    await endPeriodAgo(trial.orgId, "1 second");
    expect((await body(await api(app.url, trial.key).quota())).data).toMatchObject({ planCode: "starter", status: "active", included: 50_000 });
    const pro = await orgWithKey({ plan: "pro" });
    await sql`update subscriptions set pending_plan_code = 'growth' where org_id = ${pro.orgId}`;
    await endPeriodAgo(pro.orgId, "1 second");
    expect((await body(await api(app.url, pro.key).record({ request_id: rid() }))).data).toMatchObject({ included: 250_000, used: 1 });
  });

  test("a subscription set to cancel stops at its period end", async () => {
    const { orgId, key } = await orgWithKey();
    await sql`update subscriptions set cancel_at_period_end = true where org_id = ${orgId}`;
    expect((await api(app.url, key).record({ request_id: rid() })).status).toBe(200);
    await endPeriodAgo(orgId, "1 second");
    expect((await api(app.url, key).record({ request_id: rid() })).status).toBe(402);
  });

  test("a repeat within 24 hours of the boundary replays instead of counting in the new period", async () => {
    const { orgId, key } = await orgWithKey();
    const c = api(app.url, key);
    const id = rid();
    const first = await c.record({ request_id: id, quantity: 3 });
    // Move the admission 2 hours back, to just before a boundary 1 hour ago.
    await sql`update usage_events set recorded_at = recorded_at - interval '2 hours' where org_id = ${orgId}`;
    await endPeriodAgo(orgId, "1 hour");
    const again = await c.record({ request_id: id, quantity: 3 });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const a = (await body(first)).data;
    const b = (await body(again)).data;
    expect({ ...b, recordedAt: a.recordedAt }).toEqual(a); // same answer; its time moved with the test's rewrite
    expect((await countsOf(orgId)).used).toBe(3);
  });

  test("a repeat within 24 hours after the boundary replays an admission made days before it", async () => {
    const { orgId, key } = await orgWithKey();
    const c = api(app.url, key);
    const one = rid();
    const several = rid();
    const first = await c.record({ request_id: one, quantity: 3 });
    const firstParts = await c.record({ request_id: several, quantities: { api_call: 2, tokens: 5 } });
    expect([first.status, firstParts.status]).toEqual([200, 200]);
    // The period ended an hour ago; both admissions were made 3 days before its end (well inside
    // it, more than 24 hours ago): the org's period, counters and ledger moved back together.
    const end = new Date(Date.now() - 3600_000).toISOString();
    await sql`update subscriptions set period_start = ${end}::timestamptz - interval '1 month', period_end = ${end} where org_id = ${orgId}`;
    await sql`update usage_counters set period_start = ${end}::timestamptz - interval '1 month', period_end = ${end} where org_id = ${orgId}`;
    await sql`update usage_events set period_start = ${end}::timestamptz - interval '1 month',
                                      recorded_at = ${end}::timestamptz - interval '3 days' where org_id = ${orgId}`;
    const again = await c.record({ request_id: one, quantity: 3 });
    const againParts = await c.record({ request_id: several, quantities: { api_call: 2, tokens: 5 } });
    expect([again.headers.get("idempotent-replayed"), againParts.headers.get("idempotent-replayed")]).toEqual(["true", "true"]);
    expect((await body(again)).data).toMatchObject({ used: 3, quantity: 3 });
    const [counted] = await sql<{ rows: number; quantity: number }[]>`
      select count(*)::int as rows, coalesce(sum(quantity), 0)::int as quantity from usage_events where org_id = ${orgId}`;
    expect(counted).toEqual({ rows: 3, quantity: 10 });
  });

  test("a trial and the paid period after it share a YYYY-MM label but never a counter", async () => {
    const { orgId, key } = await orgWithKey({ plan: "trial" });
    const c = api(app.url, key);
    await sql`update subscriptions set period_start = date_trunc('month', now()), period_end = now() - interval '1 second' where org_id = ${orgId}`;
    await sql`insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used)
              select org_id, 'api_call', period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), 1000, 1000 from subscriptions where org_id = ${orgId}`;
    const { data } = await body(await c.record({ request_id: rid() }));
    expect(data).toMatchObject({ used: 1, included: 50_000 });
    const rows = await sql`select period_key, used from usage_counters where org_id = ${orgId} order by period_start`;
    expect(rows.length).toBe(2);
  });
});

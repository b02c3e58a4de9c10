// Past the included units under real concurrency: two app processes on one database, 500
// concurrent records crossing included → credits → overage → the spend cap. Each step admits
// exactly what it allows; the ledger, the counter, the answers and the credit grants agree; the
// overage charge equals the rounding rule and never exceeds the cap; replays answer identically.
// Real Postgres, real HTTP, no mocks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../../test/app";
import { api, orgWithKey, rid } from "../../../test/factories";
import { overageChargeCents } from "../domain/overage.server";
import { sql } from "../platform/db.server";

let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  [a, b] = await Promise.all([startApp(), startApp()]);
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop()]);
});

type Admitted = { included: number; credits: number; overage: number };
type Answer = { data?: { used: number; admittedAs: Admitted }; error?: { code: string; details: Record<string, unknown> } };

describe("included → credits → overage → cap, across two app processes", () => {
  test("500 concurrent records admit exactly 100 included, 100 credits and the 100 overage units the cap allows", async () => {
    const { orgId, key } = await orgWithKey({ plan: "growth" });
    // 100 included; overage at 7 ¢ per 3 units; a cap of 233 ¢: 100 overage units cost
    // round_half_up(100 × 7 / 3) = 233 ¢, the 101st would make it 236 ¢.
    await sql`
      insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used, overage_price_cents, overage_per)
      select org_id, 'api_call', period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), 100, 0, 7, 3
        from subscriptions where org_id = ${orgId}`;
    await sql`insert into org_spend_caps (org_id, amount_cents) values (${orgId}, 233)`;
    for (const [id, units, days] of [
      [`cg_${orgId}_a`, 60, 200],
      [`cg_${orgId}_b`, 40, 20],
    ] as const)
      await sql`insert into credit_grants (id, org_id, metric, units, remaining, source, source_id, expires_at)
                values (${id}, ${orgId}, 'api_call', ${units}, ${units}, 'admin', ${id}, now() + make_interval(days => ${days}))`;

    const [ca, cb] = [api(a.url, key), api(b.url, key)];
    const ids = Array.from({ length: 500 }, () => rid());
    const responses = await Promise.all(ids.map((id, i) => (i % 2 ? ca : cb).record({ request_id: id })));
    const bodies = await Promise.all(responses.map((r) => r.text()));
    const answers = bodies.map((text) => JSON.parse(text) as Answer);

    const statuses: Record<number, number> = {};
    for (const r of responses) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    expect(statuses).toEqual({ 200: 300, 429: 200 });
    // Every refusal is the cap's, with the cap and the charge that reached it.
    for (const answer of answers.filter((x) => x.error))
      expect(answer.error).toEqual({
        code: "SPEND_CAP_REACHED",
        message: expect.any(String),
        details: expect.objectContaining({ metric: "api_call", capCents: 233, overageCents: 233 }),
      } as never);

    // The answers: 300 distinct running totals, split exactly as the steps allow.
    const admitted = answers.filter((x) => x.data).map((x) => x.data!);
    expect(new Set(admitted.map((d) => d.used)).size).toBe(300);
    expect(Math.max(...admitted.map((d) => d.used))).toBe(300);
    const sum = (k: keyof Admitted) => admitted.reduce((n, d) => n + d.admittedAs[k], 0);
    expect([sum("included"), sum("credits"), sum("overage")]).toEqual([100, 100, 100]);
    // Order of spending: an answer's split follows its running total.
    for (const d of admitted)
      expect(d.admittedAs).toEqual(
        d.used <= 100
          ? { included: 1, credits: 0, overage: 0 }
          : d.used <= 200
            ? { included: 0, credits: 1, overage: 0 }
            : { included: 0, credits: 0, overage: 1 },
      );

    // The counter, the ledger and the grants say the same.
    const [counter] = await sql<{ used: number; credit_used: number; overage_used: number; charge: number }[]>`
      select used, credit_used, overage_used, overage_charge_cents(overage_used, overage_price_cents, overage_per) as charge
        from usage_counters where org_id = ${orgId} and metric = 'api_call'`;
    expect(counter).toEqual({ used: 300, credit_used: 100, overage_used: 100, charge: 233 });
    expect(counter.charge).toBe(overageChargeCents(100, 7, 3));
    const [ledger] = await sql<{ rows: number; quantity: number; credits: number; overage: number }[]>`
      select count(*)::int8 as rows, sum(quantity)::int8 as quantity, sum(credit_units)::int8 as credits, sum(overage_units)::int8 as overage
        from usage_events where org_id = ${orgId}`;
    expect(ledger).toEqual({ rows: 300, quantity: 300, credits: 100, overage: 100 });
    const grants = await sql<{ remaining: number }[]>`select remaining from credit_grants where org_id = ${orgId}`;
    expect(grants.map((g) => g.remaining)).toEqual([0, 0]);

    // Each event once.
    const [events] = await sql<{ started: number; reached: number }[]>`
      select count(*) filter (where type = 'usage.overage_started')::int as started,
             count(*) filter (where type = 'spend_cap.reached')::int as reached
        from events where org_id = ${orgId}`;
    expect(events).toEqual({ started: 1, reached: 1 });

    // The quota check sees it full: no included, no credits, no room under the cap.
    const quota = (await (await ca.quota()).json()) as { data: Record<string, unknown> };
    expect(quota.data).toMatchObject({
      allow: false,
      remaining: 0,
      used: 300,
      credits: { remaining: 0, usedThisPeriod: 100 },
      overage: { priceCents: 7, per: 3, unitsSoFar: 100, chargeCents: 233 },
    });

    // Replays of admitted requests, on either process, answer the identical bodies and count nothing.
    const replayed = ids.map((id, i) => ({ id, body: bodies[i], status: responses[i].status })).filter((x) => x.status === 200);
    const sample = replayed.filter((_, i) => i % 6 === 0);
    const again = await Promise.all(sample.map((x, i) => (i % 2 ? cb : ca).record({ request_id: x.id })));
    expect(again.every((r) => r.status === 200 && r.headers.get("idempotent-replayed") === "true")).toBe(true);
    expect(await Promise.all(again.map((r) => r.text()))).toEqual(sample.map((x) => x.body));
    const [after] = await sql<{ used: number }[]>`select used from usage_counters where org_id = ${orgId} and metric = 'api_call'`;
    expect(after.used).toBe(300);
  });

  test("200 concurrent requests of two features on overage: exactly the 50 the cap allows, the charge exactly the cap", async () => {
    const { orgId, key } = await orgWithKey({ plan: "growth" });
    for (const metric of ["api_call", "tokens"])
      await sql`
        insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used, overage_price_cents, overage_per)
        select org_id, ${metric}, period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), 0, 0, 10, 1
          from subscriptions where org_id = ${orgId}`;
    // Each request is 1 + 1 overage units at 10 ¢: 20 ¢; a cap of 1000 ¢ takes 50 of them.
    await sql`insert into org_spend_caps (org_id, amount_cents) values (${orgId}, 1000)`;
    const [ca, cb] = [api(a.url, key), api(b.url, key)];
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 ? ca : cb).record({ request_id: rid(), quantities: { api_call: 1, tokens: 1 } })),
    );
    const statuses: Record<number, number> = {};
    for (const r of responses) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    expect(statuses).toEqual({ 200: 50, 429: 150 });
    const [charge] = await sql<{ cents: number; used: number }[]>`
      select sum(overage_charge_cents(overage_used, overage_price_cents, overage_per))::int8 as cents, sum(used)::int8 as used
        from usage_counters where org_id = ${orgId}`;
    expect(charge).toEqual({ cents: 1000, used: 100 });
    const [ledger] = await sql<{ rows: number; overage: number }[]>`
      select count(*)::int8 as rows, sum(overage_units)::int8 as overage from usage_events where org_id = ${orgId}`;
    expect(ledger).toEqual({ rows: 100, overage: 100 });
  });

  test("an auto top-up crossing hit by 200 concurrent records on both processes makes exactly one run and one job", async () => {
    const { orgId, key } = await orgWithKey({ plan: "starter" });
    await sql`
      insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used)
      select org_id, 'api_call', period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), 0, 0
        from subscriptions where org_id = ${orgId}`;
    const grantId = `cg_${orgId}_atu`;
    await sql`insert into credit_grants (id, org_id, metric, units, remaining, source, source_id, expires_at)
              values (${grantId}, ${orgId}, 'api_call', 300, 300, 'admin', ${grantId}, now() + interval '300 days')`;
    await sql`insert into auto_top_up_settings (org_id, metric, below, packs) values (${orgId}, 'api_call', 200, 3)`;
    const [ca, cb] = [api(a.url, key), api(b.url, key)];
    const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? ca : cb).record({ request_id: rid() })));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const runs = await sql<{ id: string; packs: number; crossing_grant_id: string }[]>`
      select id, packs, crossing_grant_id from auto_top_up_runs where org_id = ${orgId}`;
    expect(runs.map((r) => [r.packs, r.crossing_grant_id])).toEqual([[3, grantId]]);
    const [jobs] = await sql<{ n: number }[]>`
      select count(*)::int as n from graphile_worker._private_jobs job
        join graphile_worker._private_tasks task on task.id = job.task_id
       where task.identifier = 'auto_top_up' and job.key = ${runs[0].id}`;
    expect(jobs.n).toBe(1);
    const [left] = await sql<{ remaining: number }[]>`select remaining from credit_grants where id = ${grantId}`;
    expect(left.remaining).toBe(100);
  });

  test("raising the cap admits exactly the overage the new cap allows, on both processes", async () => {
    const { orgId, key } = await orgWithKey({ plan: "growth" });
    await sql`
      insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used, overage_price_cents, overage_per)
      select org_id, 'api_call', period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), 0, 0, 10, 1
        from subscriptions where org_id = ${orgId}`;
    await sql`insert into org_spend_caps (org_id, amount_cents) values (${orgId}, 50)`;
    const [ca, cb] = [api(a.url, key), api(b.url, key)];
    const first = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? ca : cb).record({ request_id: rid() })));
    expect(first.filter((r) => r.status === 200).length).toBe(5);
    // Both processes have seen the org capped (their room hints say full); the new cap is news to both.
    await sql`update org_spend_caps set amount_cents = 120 where org_id = ${orgId}`;
    const second = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? ca : cb).record({ request_id: rid() })));
    expect(second.filter((r) => r.status === 200).length).toBe(7);
    const [counter] = await sql<{ used: number; overage_used: number }[]>`
      select used, overage_used from usage_counters where org_id = ${orgId} and metric = 'api_call'`;
    expect(counter).toEqual({ used: 12, overage_used: 12 });
  });
});

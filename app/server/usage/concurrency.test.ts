// Exactness under real concurrency: many clients at once, two app processes on one database,
// and an app killed mid-load with the client retrying. Real Postgres, real HTTP, no mocks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../../test/app";
import { api, countsOf, orgWithKey, rid, setSubscriptionMirror } from "../../../test/factories";
import { lockSubscription } from "../billing/subscriptions.server";
import { db, sql } from "../platform/db.server";
import { setPeriodUnits } from "./counters.server";

let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  [a, b] = await Promise.all([startApp(), startApp()]);
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop()]);
});

async function tally(responses: Response[]) {
  const statuses: Record<number, number> = {};
  let replayed = 0;
  for (const r of responses) {
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (r.headers.get("idempotent-replayed") === "true") replayed++;
  }
  return { statuses, replayed };
}

async function duplicateIdsInLedger(orgId: string) {
  const [row] = await sql<
    { n: number }[]
  >`select count(*)::int as n from (select request_id from usage_events where org_id = ${orgId} group by request_id having count(*) > 1) d`;
  return row.n;
}

describe("exact under concurrency", () => {
  test("1,000 concurrent records against a quota of 300 admit exactly 300", async () => {
    const { orgId, key } = await orgWithKey({ included: 300 });
    const c = api(a.url, key);
    const responses = await Promise.all(Array.from({ length: 1000 }, () => c.record({ request_id: rid() })));
    const { statuses } = await tally(responses);
    expect(statuses).toEqual({ 200: 300, 429: 700 });
    expect(await countsOf(orgId)).toEqual({ used: 300, ledger: 300, rows: 300 });
    // Every admitted answer carries a distinct running total: no two admissions saw the same state.
    const used = await Promise.all(responses.filter((r) => r.status === 200).map(async (r) => ((await r.json()) as any).data.used));
    expect(new Set(used).size).toBe(300);
    expect(Math.max(...used)).toBe(300);
  });

  test("200 concurrent repeats of one request_id count once and all answer the same body", async () => {
    const { orgId, key } = await orgWithKey();
    const c = api(a.url, key);
    const id = rid();
    const responses = await Promise.all(Array.from({ length: 200 }, () => c.record({ request_id: id, quantity: 3 })));
    const { statuses, replayed } = await tally(responses);
    expect(statuses).toEqual({ 200: 200 });
    expect(replayed).toBe(199);
    const bodies = new Set(await Promise.all(responses.map((r) => r.text())));
    expect(bodies.size).toBe(1);
    expect(await countsOf(orgId)).toEqual({ used: 3, ledger: 3, rows: 1 });
  });

  test("two app processes on one database: 1,000 records against 300 admit exactly 300", async () => {
    const { orgId, key } = await orgWithKey({ included: 300 });
    const ca = api(a.url, key);
    const cb = api(b.url, key);
    const responses = await Promise.all(Array.from({ length: 1000 }, (_, i) => (i % 2 ? ca : cb).record({ request_id: rid() })));
    expect((await tally(responses)).statuses).toEqual({ 200: 300, 429: 700 });
    expect(await countsOf(orgId)).toEqual({ used: 300, ledger: 300, rows: 300 });
    // The chart's hourly rollup moves with the counter, in the same transactions.
    const [hourly] = await sql<{ n: number }[]>`select coalesce(sum(quantity), 0)::int8 as n from usage_hourly where org_id = ${orgId}`;
    expect(hourly.n).toBe(300);
  });

  test("two app processes: 200 repeats of one request_id split across both count once, same body", async () => {
    const { orgId, key } = await orgWithKey();
    const id = rid();
    const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => api(i % 2 ? a.url : b.url, key).record({ request_id: id, quantity: 2 })));
    const { statuses, replayed } = await tally(responses);
    expect(statuses).toEqual({ 200: 200 });
    expect(replayed).toBe(199);
    expect(new Set(await Promise.all(responses.map((r) => r.text()))).size).toBe(1);
    expect(await countsOf(orgId)).toEqual({ used: 2, ledger: 2, rows: 1 });
  });

  test("mixed repeats and new ids across two processes: every request_id counted exactly once", async () => {
    const { orgId, key } = await orgWithKey();
    const ids = Array.from({ length: 300 }, () => rid());
    const sends = Array.from({ length: 1200 }, (_, i) => api(i % 2 ? a.url : b.url, key).record({ request_id: ids[i % ids.length] }));
    const { statuses, replayed } = await tally(await Promise.all(sends));
    expect(statuses).toEqual({ 200: 1200 });
    expect(replayed).toBe(900);
    expect(await countsOf(orgId)).toEqual({ used: 300, ledger: 300, rows: 300 });
    expect(await duplicateIdsInLedger(orgId)).toBe(0);
  });

  test("an app killed mid-load, then the client retrying the same request_ids: each counted exactly once", async () => {
    const victim = await startApp();
    const { orgId, key } = await orgWithKey();
    const ids = Array.from({ length: 600 }, () => rid());
    const firstTry = ids.map((id) =>
      api(victim.url, key)
        .record({ request_id: id })
        .then((r) => r.status)
        .catch(() => 0),
    );
    await Bun.sleep(30);
    victim.proc.kill("SIGKILL");
    const first = await Promise.all(firstTry);
    await victim.proc.exited;
    // The client saw some successes, some failures (connection reset); it retries everything.
    expect(first.filter((s) => s !== 200).length).toBeGreaterThan(0);
    const retry = await Promise.all(ids.map((id) => api(a.url, key).record({ request_id: id })));
    expect(retry.every((r) => r.status === 200)).toBe(true);
    expect(await countsOf(orgId)).toEqual({ used: 600, ledger: 600, rows: 600 });
    expect(await duplicateIdsInLedger(orgId)).toBe(0);
  });
});

// A full org's denials are decided by a plain read (no lock, no write) in each app process that
// has seen it full. That read re-checks the committed counter and period, so no process denies a
// request that fits after an upgrade or a new period, whichever process made it.
describe("denials of a full org, across processes", () => {
  /** What an upgrade applies (billing's convergence): under the org's lock, the period's counter gets the new units. */
  async function upgradeTo(orgId: string, included: number) {
    await db.transaction(async (tx) => {
      const subscription = await lockSubscription(tx, orgId);
      if (!subscription) throw new Error("no subscription");
      await setPeriodUnits(tx, { orgId, metric: "api_call", periodStart: subscription.periodStart, periodEnd: subscription.periodEnd, included });
    });
  }

  /** Answers of `n` requests sent while another transaction holds the org's lock: only the plain read can answer them. */
  async function whileLocked(orgId: string, send: () => Promise<Response>[]): Promise<number[]> {
    const other = await sql.reserve();
    try {
      await other`begin`;
      await other`select 1 from subscriptions where org_id = ${orgId} for no key update`;
      const answers = Promise.all(send().map((p) => p.then((r) => r.status)));
      return await Promise.race([answers, Bun.sleep(5_000).then(() => Promise.reject(new Error("a denial waited on the org's lock")))]);
    } finally {
      await other`rollback`;
      other.release();
    }
  }

  test("after an upgrade made elsewhere, the next request to a process that saw the org full is admitted, up to the new quota", async () => {
    const { orgId, key } = await orgWithKey({ included: 5 });
    const [ca, cb] = [api(a.url, key), api(b.url, key)];
    expect((await ca.record({ request_id: rid(), quantity: 5 })).status).toBe(200);
    // Both processes see it full, and then deny it without its lock.
    for (const c of [ca, cb]) expect((await c.record({ request_id: rid() })).status).toBe(429);
    expect(await whileLocked(orgId, () => [ca, cb, ca, cb].map((c) => c.record({ request_id: rid() })))).toEqual([429, 429, 429, 429]);

    await upgradeTo(orgId, 8);
    const next = await ca.record({ request_id: rid() });
    expect(next.status).toBe(200);
    expect(((await next.json()) as { data: { used: number; included: number } }).data).toMatchObject({ used: 6, included: 8 });
    expect((await cb.record({ request_id: rid(), quantity: 2 })).status).toBe(200);
    expect((await ca.record({ request_id: rid() })).status).toBe(429);
    expect(await countsOf(orgId)).toEqual({ used: 8, ledger: 8, rows: 3 });
  });

  test("many concurrent requests on both processes right after an upgrade admit exactly the new room", async () => {
    const { orgId, key } = await orgWithKey({ included: 50 });
    const [ca, cb] = [api(a.url, key), api(b.url, key)];
    expect((await ca.record({ request_id: rid(), quantity: 50 })).status).toBe(200);
    for (const c of [ca, cb]) expect((await c.record({ request_id: rid() })).status).toBe(429);
    await upgradeTo(orgId, 350);
    const responses = await Promise.all(Array.from({ length: 1000 }, (_, i) => (i % 2 ? ca : cb).record({ request_id: rid() })));
    expect((await tally(responses)).statuses).toEqual({ 200: 300, 429: 700 });
    expect(await countsOf(orgId)).toEqual({ used: 350, ledger: 350, rows: 301 });
  });

  test("a full org whose period has ended (a new period, in the database) is admitted by a process that saw it full", async () => {
    const { orgId, key } = await orgWithKey({ included: 3 });
    const ca = api(a.url, key);
    expect((await ca.record({ request_id: rid(), quantity: 3 })).status).toBe(200);
    expect((await ca.record({ request_id: rid() })).status).toBe(429);
    // The period started 40 days ago: it ended 9 days ago, and the boundary rule rolls it forward.
    await setSubscriptionMirror({ orgId, planCode: "starter", start: new Date(Date.now() - 40 * 86_400_000) });
    const next = await ca.record({ request_id: rid() });
    expect(next.status).toBe(200);
    expect(((await next.json()) as { data: { used: number } }).data.used).toBe(1);
  });

  test("a repeat of an admitted request, sent while the org is full, replays its success on every process", async () => {
    const { orgId, key } = await orgWithKey({ included: 2 });
    const [ca, cb] = [api(a.url, key), api(b.url, key)];
    const id = rid();
    const first = await ca.record({ request_id: id, quantity: 2 });
    expect(first.status).toBe(200);
    const body = await first.text();
    for (const c of [ca, cb]) expect((await c.record({ request_id: rid() })).status).toBe(429);
    const repeats = await Promise.all([ca, cb, ca, cb].map((c) => c.record({ request_id: id, quantity: 2 })));
    expect(repeats.map((r) => [r.status, r.headers.get("idempotent-replayed")])).toEqual(Array(4).fill([200, "true"]));
    for (const r of repeats) expect(await r.text()).toBe(body);
    expect(await countsOf(orgId)).toEqual({ used: 2, ledger: 2, rows: 1 });
  });
});

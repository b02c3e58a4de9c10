// usage.threshold_reached: decided by record_usage in the statement that admits the usage, once
// per org, metric, period and threshold, whatever the batching or the number of app processes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../../test/app";
import { api, orgWithKey, rid, setIncluded } from "../../../test/factories";
import { sql } from "../platform/db.server";
import { recordUsage } from "../usage/engine.server";

async function thresholdEvents(orgId: string) {
  return sql<{ id: string; threshold: number; used: number; included: number; jobs: number }[]>`
    select e.id, (e.data->>'threshold')::int as threshold, (e.data->>'used')::int8 as used, (e.data->>'included')::int8 as included,
           (select count(*) from graphile_worker._private_jobs j
              join graphile_worker._private_tasks t on t.id = j.task_id
             where t.identifier = 'dispatch_event' and j.payload->>'eventId' = e.id)::int as jobs
      from events e where e.org_id = ${orgId} and e.type = 'usage.threshold_reached' order by threshold`;
}

const record = (orgId: string, quantity = 1) => recordUsage({ orgId, requestId: rid(), metric: "api_call", quantity }).catch((e: Error) => e);

describe("usage thresholds", () => {
  test("crossing 80% and then 100% emits one event each, with its dispatch job, and nothing before", async () => {
    const { orgId } = await orgWithKey({ included: 10 });
    for (let i = 0; i < 7; i++) await record(orgId);
    expect((await thresholdEvents(orgId)).length).toBe(0);
    await record(orgId); // 8 of 10
    await record(orgId);
    await record(orgId); // 10 of 10
    await record(orgId); // denied
    const events = await thresholdEvents(orgId);
    expect(events.map((e) => [e.threshold, e.used, e.included, e.jobs])).toEqual([
      [80, 8, 10, 1],
      [100, 10, 10, 1],
    ]);
  });

  test("one request that jumps from 0 to 100% emits both thresholds", async () => {
    const { orgId } = await orgWithKey({ included: 10 });
    await record(orgId, 10);
    expect((await thresholdEvents(orgId)).map((e) => e.threshold)).toEqual([80, 100]);
  });

  test("a threshold is not emitted again in the same period after the included units rise", async () => {
    const { orgId } = await orgWithKey({ included: 10 });
    await record(orgId, 8);
    await setIncluded(orgId, 20); // an upgrade: 8 of 20
    await record(orgId, 8); // 16 of 20: 80% again
    expect((await thresholdEvents(orgId)).map((e) => [e.threshold, e.used])).toEqual([[80, 8]]);
  });

  test("500 concurrent records in one process emit exactly one event per threshold", async () => {
    const { orgId } = await orgWithKey({ included: 300 });
    await Promise.all(Array.from({ length: 500 }, () => record(orgId)));
    const events = await thresholdEvents(orgId);
    // `used` is the counter after the batch that crossed: at or past the threshold.
    expect(events.map((e) => [e.threshold, e.used >= (e.threshold * 300) / 100, e.jobs])).toEqual([
      [80, true, 1],
      [100, true, 1],
    ]);
  });
});

describe("two app processes on one database", () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    [a, b] = await Promise.all([startApp(), startApp()]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test("driving one org across 80% and 100% through both at once emits exactly one event per threshold", async () => {
    const { orgId, key } = await orgWithKey({ included: 200 });
    const clients = [api(a.url, key), api(b.url, key)];
    // Waves of concurrent requests through both processes: many batches race at each threshold.
    let admitted = 0;
    for (let wave = 0; wave < 20; wave++) {
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => clients[i % 2].record({ request_id: rid() })));
      admitted += responses.filter((r) => r.status === 200).length;
    }
    expect(admitted).toBe(200);
    const events = await thresholdEvents(orgId);
    expect(events.map((e) => [e.threshold, e.used >= (e.threshold * 200) / 100, e.jobs])).toEqual([
      [80, true, 1],
      [100, true, 1],
    ]);
    const [claims] = await sql<{ n: number }[]>`select count(*)::int as n from usage_thresholds where org_id = ${orgId}`;
    expect(claims.n).toBe(2);
  });
});

// `bun bench/postgres.ts`: what one Postgres sustains on the hot path, without the app in the
// way. On a fresh database with 1,000 orgs it calls record_usage (the statement the app's group
// commit sends) from PG_BENCH_CONNECTIONS connections, with batches of 1 (no group commit) and of
// 64 requests, under the default settings, then synchronous_commit = off, then commit_delay —
// each set with ALTER DATABASE on this scratch database only — and prints admissions/s and
// admissions per CPU-second of the Postgres backends. Then it tops the ledger up to
// PG_BENCH_CALLS admitted calls (default 1,000,000) and prints what each usage table weighs.
import postgres from "postgres";
import { createTestDatabase } from "../test/db";
import { cpuSecondsOf } from "./wrk";

const seconds = Number(process.env.BENCH_DURATION ?? 5);
const conns = Number(process.env.PG_BENCH_CONNECTIONS ?? 4);
const totalCalls = Number(process.env.PG_BENCH_CALLS ?? 1_000_000);
const ORGS = 1000;

const testDb = await createTestDatabase("pgbench");
const dbName = new URL(testDb.url).pathname.slice(1);
const admin = postgres(testDb.url, { max: 1, onnotice: () => {} });
let seq = 0;

try {
  process.env.DATABASE_URL = testDb.url;
  process.env.LOG_LEVEL = "warn";
  const { syncPlanCatalog } = await import("../app/server/billing/plans.server");
  await syncPlanCatalog();
  await admin`insert into organisations (id, name) select 'org_pg_' || g, 'org ' || g from generate_series(1, ${ORGS}) g`;
  await admin`insert into subscriptions (org_id, plan_code, status, period_start, period_end)
              select 'org_pg_' || g, 'pro', 'active', date_trunc('month', now()), date_trunc('month', now()) + interval '1 month'
                from generate_series(1, ${ORGS}) g`;
  // Room for every call: no denial skews the figures.
  await admin`insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used)
              select org_id, 'api_call', period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), 1000000000, 0 from subscriptions`;

  /** Admissions for `seconds` from `conns` connections sending batches of `batch` random orgs. */
  async function drive(batch: number): Promise<{ perSecond: number; perPgCpuS: number }> {
    const pool = postgres(testDb.url, { max: conns, onnotice: () => {} });
    await Promise.all(Array.from({ length: conns }, () => pool`select 1`));
    const backends = (await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${dbName} and pid <> pg_backend_pid()`).map((r) => r.pid);
    const cpu0 = cpuSecondsOf(backends);
    const until = Date.now() + seconds * 1000;
    const started = performance.now();
    let admitted = 0;
    await Promise.all(
      Array.from({ length: conns }, async () => {
        while (Date.now() < until) {
          const orgs = Array.from({ length: batch }, () => `org_pg_${1 + Math.floor(Math.random() * ORGS)}`);
          const ids = orgs.map(() => `pg_${(seq++).toString(36)}`);
          const [row] = await pool<{ n: number }[]>`
            select count(*) filter (where outcome = 'admitted')::int as n
              from record_usage(${orgs}::text[], ${ids}::text[], ${orgs.map(() => "api_call")}::text[], ${orgs.map(() => 1)}::int[], '7 days'::interval)`;
          admitted += row.n;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const pgCpu = cpuSecondsOf(backends) - cpu0;
    await pool.end();
    return { perSecond: admitted / elapsed, perPgCpuS: admitted / pgCpu };
  }

  const settings: [string, string[]][] = [
    ["default (synchronous_commit on)", []],
    ["synchronous_commit = off", ["synchronous_commit = off"]],
    ["commit_delay = 200, commit_siblings = 2", ["commit_delay = 200", "commit_siblings = 2"]],
  ];
  console.log(`\nrecord_usage straight to Postgres: ${conns} connections, ${seconds}s each, ${ORGS} orgs\n`);
  console.log(`${"setting".padEnd(40)} ${"batch".padStart(5)} ${"admit/s".padStart(9)} ${"admit/pg-cpu-s".padStart(15)}`);
  for (const [name, sets] of settings) {
    await admin.unsafe(`alter database "${dbName}" reset all`);
    for (const s of sets) await admin.unsafe(`alter database "${dbName}" set ${s}`);
    for (const batch of [1, 64]) {
      const r = await drive(batch);
      console.log(`${name.padEnd(40)} ${String(batch).padStart(5)} ${r.perSecond.toFixed(0).padStart(9)} ${r.perPgCpuS.toFixed(0).padStart(15)}`);
    }
  }
  await admin.unsafe(`alter database "${dbName}" reset all`);

  // Growth: the ledger topped up to totalCalls admitted calls, 512 a statement (as the app's
  // largest batches), then each table's size with its indexes and TOAST.
  const fill = postgres(testDb.url, { max: 1, onnotice: () => {} });
  let [{ n: have }] = await fill<{ n: number }[]>`select count(*)::int as n from usage_events`;
  while (have < totalCalls) {
    const size = Math.min(512, totalCalls - have);
    const orgs = Array.from({ length: size }, () => `org_pg_${1 + Math.floor(Math.random() * ORGS)}`);
    const ids = orgs.map(() => `pg_${(seq++).toString(36)}`);
    await fill`select 1 from record_usage(${orgs}::text[], ${ids}::text[], ${orgs.map(() => "api_call")}::text[], ${orgs.map(() => 1)}::int[], '7 days'::interval)`;
    have += size;
  }
  await fill`vacuum analyze`;
  const sizes = await fill<{ name: string; rows: number; bytes: number }[]>`
    select t.name, t.rows::int8, t.bytes::int8 from (
      select 'usage_events (all partitions)' as name,
             (select count(*) from usage_events) as rows,
             (select sum(pg_total_relation_size(inhrelid)) from pg_inherits where inhparent = 'usage_events'::regclass) as bytes
      union all select 'usage_hourly', (select count(*) from usage_hourly), pg_total_relation_size('usage_hourly')
      union all select 'usage_counters', (select count(*) from usage_counters), pg_total_relation_size('usage_counters')
      union all select 'subscriptions', (select count(*) from subscriptions), pg_total_relation_size('subscriptions')) t`;
  await fill.end();
  console.log(`\nsizes after ${have.toLocaleString("en")} admitted calls over ${ORGS} orgs (one hour, one period):\n`);
  for (const s of sizes) {
    console.log(
      `${s.name.padEnd(32)} ${Number(s.rows).toLocaleString("en").padStart(10)} rows ${(Number(s.bytes) / 2 ** 20).toFixed(1).padStart(8)} MiB ${(Number(s.bytes) / Math.max(1, Number(s.rows))).toFixed(0).padStart(6)} B/row`,
    );
  }
} finally {
  await admin.end({ timeout: 2 });
  await testDb.drop();
}

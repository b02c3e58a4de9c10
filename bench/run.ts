// `bun run bench`: starts the app on a fresh database, a bare Bun.serve baseline, and drives both
// with wrk (bench/load.lua; Debian's `wrk` package). Prints one line per scenario — requests/s,
// p50, p99, errors, ratio to the baseline — and what a denial costs against a quota check; then
// sustained runs (the quota route, then the usage route, in rounds on the same process, and a
// worker delivering webhooks in rounds: none may get slower with what it has served;
// bench/rounds.ts), checks the counts are exact, and writes the figures to
// bench/results/<time>.json. BENCH_DURATION (seconds, default 10) sets each scenario's length;
// BENCH_ROUNDS (default 6) the sustained rounds; BENCH_WORKER_EVENTS (default 1,000) the events
// per worker round.
// `--processes 1,2` instead measures how the quota check and usage recording scale with app processes (bench/scaling.ts).
// Last comes the webhook storm (bench/storm.ts); `--storm` runs only that.
// `--reads` runs only the reads: the quota check, the entitlements and one entitlement, each with its ratio to the quota check.
// `--parts` runs only the usage of one feature and of two per request (api_call + tokens), one org
// each, alternated twice, with the second's ratio to the first (issue 22: at least 80%).
// `--overage` runs only the admissions past the included units (issue 23): included, credit and overage
// admissions of one org each, alternated twice, each with its ratio to the included one.
// `--limits` runs only the quota check and the usage record of a key without rate limits and of a key
// with limits it never reaches (issue 25: at most 10% slower), alternated twice; with REDIS_URL set
// the limits are counted in Redis, as in production.

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Subprocess, spawn } from "bun";
import { createTestDatabase } from "../test/db";
import { freePort } from "../test/ports";
import { compareDenial, interleavedCosted, loadCosted, perRequestUs, usageRounds, workerRounds } from "./rounds";
import { runScaling } from "./scaling";
import { runStorm } from "./storm";
import { connections, duration, load, type Result, removeScenarioFile } from "./wrk";

const root = join(import.meta.dir, "..");
const { values: args } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    processes: { type: "string" },
    storm: { type: "boolean" },
    reads: { type: "boolean" },
    overage: { type: "boolean" },
    parts: { type: "boolean" },
    limits: { type: "boolean" },
  },
});
const processCounts = args.processes?.split(",").map(Number);
if (processCounts && (processCounts.length === 0 || processCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 64))) {
  console.error("--processes takes app process counts separated by commas, e.g. --processes 1,2");
  process.exit(2);
}
// Ports the OS found free: app processes share theirs (SO_REUSEPORT), so a fixed port could be
// joined by another run's app on the same machine and mix the two runs' figures.
const [appPort, barePort] = [freePort(), freePort()];
const rounds = Number(process.env.BENCH_ROUNDS ?? 6);
const workerEvents = Number(process.env.BENCH_WORKER_EVENTS ?? 1000);
const procs: Subprocess[] = [];

if (!args.storm && !Bun.which("wrk")) {
  console.error("bench needs wrk: apt-get install -y wrk");
  process.exit(1);
}

const testDb = await createTestDatabase("bench");
process.env.DATABASE_URL = testDb.url;
process.env.LOG_LEVEL = "warn";
// The storm's local Stripe listens here; the app modules below read it once, at import.
const stripePort = freePort();
process.env.STRIPE_LOCAL_PORT = String(stripePort);
delete process.env.STRIPE_SECRET_KEY;
const { createOrg } = await import("../app/server/orgs/orgs.server");
const { setSubscriptionMirror } = await import("../test/factories");
const { createApiKey } = await import("../app/server/auth/keys.server");
const { syncPlanCatalog } = await import("../app/server/billing/plans.server");
const { sql } = await import("../app/server/platform/db.server");

async function cleanup() {
  for (const p of procs) p.kill("SIGTERM");
  await Promise.all(procs.map((p) => p.exited));
  await sql.end({ timeout: 2 });
  await testDb.drop();
  removeScenarioFile();
}

async function waitFor(url: string) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      // not yet listening
    }
    await Bun.sleep(100);
  }
  throw new Error(`${url} did not come up`);
}

const admittedPerSec = (r: Result) => ((r.statuses["200"] ?? 0) - r.replayed) / r.duration;

async function usedOf(orgId: string) {
  const [row] = await sql<{ used: number; ledger: number }[]>`
    select coalesce((select sum(used) from usage_counters where org_id = ${orgId}), 0)::int8 as used,
           (select coalesce(sum(quantity), 0) from usage_events where org_id = ${orgId})::int8 as ledger`;
  return row;
}

try {
  if (!existsSync(join(root, "build", "index.js"))) {
    const b = spawn(["bun", "--bun", "remix", "build"], { cwd: root, stdout: "ignore", stderr: "inherit" });
    if ((await b.exited) !== 0) throw new Error("build failed");
  }
  await syncPlanCatalog();

  if (args.storm) {
    const storm = await runStorm({ databaseUrl: testDb.url, sql, stripePort });
    mkdirSync(join(import.meta.dir, "results"), { recursive: true });
    const file = join(import.meta.dir, "results", `storm-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), storm }, null, 2));
    console.log(`\nfigures written to ${file}`);
    await cleanup();
    process.exit([...Object.values(storm.checks), ...Object.values(storm.bars)].every(Boolean) ? 0 : 1);
  }

  // Setup: a hot org on pro, 1,000 orgs on growth, an org whose quota is already full.
  const mkOrg = async (id: string, plan: "pro" | "growth" | "trial") => {
    await createOrg({ id, name: id });
    await setSubscriptionMirror({ orgId: id, planCode: plan });
    // Pinned to the plan's version, as convergence pins a subscription Stripe reports.
    await sql`update subscriptions set plan_version = (select max(version) from plan_versions where plan_code = ${plan}) where org_id = ${id}`;
    return (await createApiKey({ orgId: id, name: "bench" })).key;
  };
  const hotKey = await mkOrg("org_bench_hot", "pro");
  const dupKey = await mkOrg("org_bench_dup", "pro");
  const fullKey = await mkOrg("org_bench_full", "trial");
  await sql`update usage_counters set used = included where org_id = 'org_bench_full'`;
  await sql`insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used)
            select org_id, 'api_call', period_start, period_end, to_char(period_start, 'YYYY-MM'), 1000, 1000
              from subscriptions where org_id = 'org_bench_full' on conflict do nothing`;
  // The sustained usage rounds' org: a quota the rounds cannot use up.
  const roundsKey = await mkOrg("org_bench_rounds", "pro");
  await sql`insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used)
            select org_id, 'api_call', period_start, period_end, to_char(period_start, 'YYYY-MM'), 1000000000, 0
              from subscriptions where org_id = 'org_bench_rounds' on conflict do nothing`;
  // Several features per request (api_call + tokens): units the scenario cannot use up.
  const partsKey = await mkOrg("org_bench_parts", "pro");
  // The entitlements reads of an org that has used both metered features (its counters are made by
  // a request, below, as the usage engine makes them).
  const usedKey = await mkOrg("org_bench_used", "pro");
  await sql`insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used)
            select org_id, metric, period_start, period_end, to_char(period_start, 'YYYY-MM'), 1000000000000, 0
              from subscriptions, unnest(array['api_call', 'tokens']) metric where org_id = 'org_bench_parts' on conflict do nothing`;
  // Past the included units: an org whose every request is overage (no cap, chosen), and one whose
  // every request is paid with credits (a grant the scenario cannot use up).
  const beyondCounter = (orgId: string, priceCents: number | null) => sql`
    insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used, overage_price_cents, overage_per)
    select org_id, 'api_call', period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), 1, 1,
           ${priceCents}::int, ${priceCents === null ? null : 1000}::int
      from subscriptions where org_id = ${orgId} on conflict do nothing`;
  const overageKey = await mkOrg("org_bench_overage", "growth");
  await beyondCounter("org_bench_overage", 50);
  await sql`insert into org_spend_caps (org_id, amount_cents) values ('org_bench_overage', null)`;
  const creditsKey = await mkOrg("org_bench_credits", "growth");
  await beyondCounter("org_bench_credits", null);
  await sql`insert into credit_grants (id, org_id, metric, units, remaining, source, source_id, expires_at)
            values ('cg_bench', 'org_bench_credits', 'api_call', 1000000000000, 1000000000000, 'admin', 'cg_bench', now() + interval '365 days')`;
  // A key with rate limits it never reaches (its org on pro, as the hot org).
  await createOrg({ id: "org_bench_limited", name: "org_bench_limited" });
  await setSubscriptionMirror({ orgId: "org_bench_limited", planCode: "pro" });
  const limitedKey = (
    await createApiKey({
      orgId: "org_bench_limited",
      name: "bench limited",
      rateLimits: [
        { limit: 1_000_000, windowSeconds: 1 },
        { limit: 1_000_000_000, windowSeconds: 3600 },
      ],
    })
  ).key;
  const spreadKeys: string[] = [];
  for (let i = 0; i < 1000; i++) spreadKeys.push(await mkOrg(`org_bench_${i}`, "growth"));

  if (processCounts) {
    const exact = await runScaling({ counts: processCounts, hotKey, spreadKeys, databaseUrl: testDb.url, sql, port: appPort });
    await cleanup();
    process.exit(exact ? 0 : 1);
  }

  const app = spawn(["bun", "server.ts"], {
    cwd: root,
    env: { ...process.env, PORT: String(appPort), DATABASE_URL: testDb.url, LOG_LEVEL: "warn" },
    stdout: "inherit",
    stderr: "inherit",
  });
  procs.push(app);
  const bare = spawn(["bun", join(import.meta.dir, "bare-server.ts")], {
    cwd: root,
    env: { ...process.env, PORT: String(barePort) },
    stdout: "ignore",
    stderr: "inherit",
  });
  procs.push(bare);
  const appUrl = `http://127.0.0.1:${appPort}`;
  await waitFor(`${appUrl}/api/diag/smoke`);
  await waitFor(`http://127.0.0.1:${barePort}/`);

  const firstUse = await fetch(`${appUrl}/api/v1/usage`, {
    method: "POST",
    headers: { authorization: `Bearer ${usedKey}`, "content-type": "application/json" },
    body: JSON.stringify({ request_id: "bench-first-use", quantities: { api_call: 1, tokens: 1532 } }),
  });
  if (firstUse.status !== 200) throw new Error(`the used org's first request: ${firstUse.status}`);
  // Warm-up (JIT, prepared statements, key caches).
  await load({ url: appUrl, kind: "quota", keys: [hotKey], duration: 2 });

  // The entitlements reads, against the quota check of the same sitting (issue 22: at least its rate),
  // for an org whose period has no counter yet (the hot org) and one that has used both metered
  // features (a counter each), so both shapes of the read are measured. Interleaved (quota,
  // entitlements, one entitlement, then the reverse): the three are close, and run one after the
  // other the machine's drift decided which came out ahead.
  const readsOf = (key: string) =>
    interleavedCosted(
      {
        quota: { url: appUrl, kind: "quota", keys: [key] },
        entitlements: { url: appUrl, kind: "keyed", path: "/api/v1/entitlements", keys: [key] },
        entitlement: { url: appUrl, kind: "keyed", path: "/api/v1/entitlements/tokens", keys: [key] },
      },
      [app.pid],
      sql,
    );
  type Reads = Awaited<ReturnType<typeof readsOf>>;
  const reads = async () => ({ fresh: await readsOf(hotKey), used: await readsOf(usedKey) });
  const printReads = (both: Awaited<ReturnType<typeof reads>>) => {
    for (const [period, r] of [
      ["a period with no usage yet", both.fresh],
      ["a period with usage of both metered features", both.used],
    ] as const) {
      console.log(`${period}:`);
      for (const [name, x] of Object.entries(r)) {
        const cpu = perRequestUs(x);
        console.log(
          `  ${name.padEnd(14)} ${x.rps.toFixed(0).padStart(7)} req/s  p50 ${String(x.p50).padStart(5)} ms  p99 ${String(x.p99).padStart(6)} ms  errors ${x.errors}  CPU/request app ${cpu.app.toFixed(0)} µs, Postgres ${cpu.pg.toFixed(0)} µs  ${((x.rps / r.quota.rps) * 100).toFixed(1)}% of quota`,
        );
      }
    }
  };
  const readsMeet = (both: Awaited<ReturnType<typeof reads>>) =>
    [both.fresh, both.used].every((r: Reads) => [r.entitlements, r.entitlement].every((x) => x.errors === 0 && x.rps >= r.quota.rps));
  const runId = Date.now().toString(36);
  // Included, credit and overage admissions, each of its own org, alternated (issue 23: an overage
  // admission costs at most 20% more than an included one).
  const beyond = async (tag: string) => {
    const included = await load({ url: appUrl, kind: "usage", keys: [hotKey], runId: `${runId}${tag}i` });
    const credits = await load({ url: appUrl, kind: "usage", keys: [creditsKey], runId: `${runId}${tag}c` });
    const overage = await load({ url: appUrl, kind: "usage", keys: [overageKey], runId: `${runId}${tag}o` });
    return { included, credits, overage };
  };
  const printBeyond = (r: Awaited<ReturnType<typeof beyond>>) => {
    for (const [name, x] of Object.entries(r))
      console.log(
        `usage, ${name.padEnd(15)} ${admittedPerSec(x).toFixed(0).padStart(9)} admitted/s  p50 ${String(x.p50).padStart(6)} ms  p99 ${String(x.p99).padStart(6)} ms  errors ${x.errors}  ${((admittedPerSec(x) / admittedPerSec(r.included)) * 100).toFixed(1)}% of included`,
      );
  };
  const overageWithin = (r: Awaited<ReturnType<typeof beyond>>) => admittedPerSec(r.overage) * 1.2 >= admittedPerSec(r.included);
  if (args.overage) {
    console.log(`\nbench --overage: wrk, 2 threads, ${duration}s per scenario, ${connections} connections, same machine\n`);
    let ok = true;
    for (const tag of ["a", "b"]) {
      const r = await beyond(tag);
      printBeyond(r);
      ok &&= overageWithin(r);
    }
    const [o] = await sql<{ used: number; overage: number; ledger: number }[]>`
      select used::int8, overage_used::int8 as overage,
             (select coalesce(sum(overage_units), 0) from usage_events where org_id = 'org_bench_overage')::int8 as ledger
        from usage_counters where org_id = 'org_bench_overage'`;
    console.log(`${o.overage === o.used - 1 && o.overage === o.ledger ? "exact" : "WRONG"}  overage: counter = ledger = admitted past the included unit`);
    console.log(`${ok ? "meets" : "MISSES"} an overage admission costs ≤ 120% of an included one (both sittings)`);
    await cleanup();
    process.exit(0);
  }
  if (args.parts) {
    console.log(`\nbench --parts: wrk, 2 threads, ${duration}s per scenario, ${connections} connections, same machine\n`);
    let ok = true;
    for (const tag of ["a", "b"]) {
      const one = await load({ url: appUrl, kind: "usage", keys: [hotKey], runId: `${runId}h${tag}` });
      const two = await load({ url: appUrl, kind: "usage_parts", keys: [partsKey], runId: `${runId}p${tag}` });
      const ratio = admittedPerSec(two) / admittedPerSec(one);
      console.log(`usage, one feature  ${admittedPerSec(one).toFixed(0).padStart(7)} admitted/s  p99 ${String(one.p99).padStart(6)} ms  errors ${one.errors}`);
      console.log(
        `usage, 2 features   ${admittedPerSec(two).toFixed(0).padStart(7)} admitted/s  p99 ${String(two.p99).padStart(6)} ms  errors ${two.errors}  ${(ratio * 100).toFixed(1)}% of one feature`,
      );
      ok &&= ratio >= 0.8;
    }
    const [c] = await sql<{ counters: number; ledger: number }[]>`
      select (select coalesce(sum(used), 0) from usage_counters where org_id = 'org_bench_parts')::int8 as counters,
             (select coalesce(sum(quantity), 0) from usage_events where org_id = 'org_bench_parts')::int8 as ledger`;
    console.log(`${c.counters === c.ledger ? "exact" : "WRONG"}  2 features: counters = ledger (${c.counters} = ${c.ledger})`);
    console.log(`${ok ? "meets" : "MISSES"} usage, 2 features ≥ 80% of one feature's admitted/s (both sittings)`);
    await cleanup();
    process.exit(0);
  }
  if (args.limits) {
    console.log(
      `\nbench --limits: wrk, 2 threads, ${duration}s per scenario, ${connections} connections, same machine, limits counted ${process.env.REDIS_URL ? "in Redis" : "per process (no REDIS_URL)"}\n`,
    );
    let ok = true;
    for (const tag of ["a", "b"]) {
      const quotaFree = await load({ url: appUrl, kind: "quota", keys: [hotKey] });
      const quotaLimited = await load({ url: appUrl, kind: "quota", keys: [limitedKey] });
      const usageFree = await load({ url: appUrl, kind: "usage", keys: [hotKey], runId: `${runId}${tag}f` });
      const usageLimited = await load({ url: appUrl, kind: "usage", keys: [limitedKey], runId: `${runId}${tag}l` });
      const line = (name: string, x: Result, base: Result) =>
        console.log(
          `${name.padEnd(24)} ${x.rps.toFixed(0).padStart(9)} req/s  p50 ${String(x.p50).padStart(6)} ms  p99 ${String(x.p99).padStart(6)} ms  errors ${x.errors}  ${((x.rps / base.rps) * 100).toFixed(1)}% of no limits`,
        );
      line("quota, no limits", quotaFree, quotaFree);
      line("quota, limited key", quotaLimited, quotaFree);
      line("usage, no limits", usageFree, usageFree);
      line("usage, limited key", usageLimited, usageFree);
      ok &&= quotaLimited.rps * 1.1 >= quotaFree.rps && usageLimited.rps * 1.1 >= usageFree.rps && quotaLimited.errors + usageLimited.errors === 0;
    }
    console.log(`${ok ? "meets" : "MISSES"} a key with limits costs at most 10% (quota and usage, both sittings)`);
    await cleanup();
    process.exit(0);
  }
  if (args.reads) {
    await load({ url: appUrl, kind: "keyed", path: "/api/v1/entitlements", keys: [hotKey], duration: 2 });
    const r = await reads();
    console.log(`
bench --reads: wrk, 2 threads, ${duration}s per scenario (two slices, interleaved), ${connections} connections, same machine
`);
    printReads(r);
    console.log(`${readsMeet(r) ? "meets" : "MISSES"} entitlements (both routes, both periods) ≥ quota rate`);
    await cleanup();
    process.exit(0);
  }

  const results: Record<string, Result & { ratio?: number }> = {};
  results.baseline = await load({ url: `http://127.0.0.1:${barePort}`, kind: "bare" });
  const quotaCosted = await loadCosted({ url: appUrl, kind: "quota", keys: [hotKey] }, [app.pid], sql);
  results["quota (64 conn)"] = quotaCosted;
  results["quota ~2000/s"] = await load({ url: appUrl, kind: "quota", keys: [hotKey], overallRate: 2000, connections: 8 });
  const entitlementReads = await reads();
  results.entitlements = entitlementReads.fresh.entitlements;
  results["entitlements/tokens"] = entitlementReads.fresh.entitlement;
  results["entitlements, used"] = entitlementReads.used.entitlements;
  results["entitlements/tokens, used"] = entitlementReads.used.entitlement;
  const hotBefore = await usedOf("org_bench_hot");
  results["usage, one org"] = await load({ url: appUrl, kind: "usage", keys: [hotKey], runId: `${runId}h` });
  // Right after the one-feature run it is compared with: the ledger grows with every usage scenario,
  // and run after the others (as it was) it measured 74–77% where the two back to back give 82–89%.
  results["usage, 2 features"] = await load({ url: appUrl, kind: "usage_parts", keys: [partsKey], runId: `${runId}p` });
  results["usage, credits"] = await load({ url: appUrl, kind: "usage", keys: [creditsKey], runId: `${runId}c` });
  results["usage, overage"] = await load({ url: appUrl, kind: "usage", keys: [overageKey], runId: `${runId}o` });
  results["usage, 1,000 orgs"] = await load({ url: appUrl, kind: "usage", keys: spreadKeys, runId: `${runId}s` });
  results["usage, 10% duplicates"] = await load({ url: appUrl, kind: "usage", keys: [dupKey], runId: `${runId}d`, dupEvery: 10 });
  const denialCosted = await loadCosted({ url: appUrl, kind: "usage", keys: [fullKey], runId: `${runId}f`, expect: [429] }, [app.pid], sql);
  results["usage over quota"] = denialCosted;

  // Sustained: the same process, after everything above, answers the quota route round after round; the
  // last round must be as fast as the first (no per-request state that grows).
  const sustained: Result[] = [];
  for (let i = 0; i < rounds; i++) sustained.push(await load({ url: appUrl, kind: "quota", keys: [hotKey] }));
  const lastOverFirst = sustained[sustained.length - 1].rps / sustained[0].rps;
  // Then the usage route, the same way, and a worker process delivering webhooks round after round.
  const roundsBefore = await usedOf("org_bench_rounds");
  const usage = await usageRounds({ url: appUrl, key: roundsKey, rounds, runId });
  const worker = await workerRounds({ sql, databaseUrl: testDb.url, orgId: "org_bench_rounds", rounds, events: workerEvents });

  // The portal's dashboard for an org with 1,000,000 usage events this period.
  await createOrg({ id: "org_bench_big", name: "Big", email: "big@bench.test" });
  await setSubscriptionMirror({ orgId: "org_bench_big", planCode: "pro" });
  await sql`insert into usage_events (org_id, request_id, metric, quantity, period_start, used_after, included, recorded_at)
            select 'org_bench_big', 'big-' || g, 'api_call', 1, s.period_start, g, 1000000, s.period_start + (g % 86400) * interval '1 second'
              from generate_series(1, 1000000) g, subscriptions s where s.org_id = 'org_bench_big'`;
  await sql`insert into usage_hourly (org_id, metric, hour, quantity)
            select org_id, metric, date_trunc('hour', recorded_at at time zone 'UTC') at time zone 'UTC', sum(quantity)
              from usage_events where org_id = 'org_bench_big' group by 1, 2, 3`;
  await sql`insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used)
            select org_id, 'api_call', period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), 1000000, 1000000
              from subscriptions where org_id = 'org_bench_big'`;
  const signIn = await fetch(`${appUrl}/dev/sign-in`, {
    method: "POST",
    redirect: "manual",
    headers: { origin: appUrl },
    body: new URLSearchParams({ email: "big@bench.test", orgId: "org_bench_big" }),
  });
  const cookie = signIn.headers.get("set-cookie")!.split(";")[0];
  // One connection: the latency is the server's time for the page, not queueing behind others.
  const dashboard = await load({ url: appUrl, kind: "page", path: "/dashboard", cookie, connections: 1 });

  // Exactness: every admitted request counted once, duplicates never.
  const checks: Record<string, boolean> = {};
  const hot = await usedOf("org_bench_hot");
  // The load generator stops with up to `connections` requests in flight: those were admitted
  // (or not) without the client seeing the answer, so the client's count may be short by that.
  const inFlightSlack = (db: number, client: number) => db >= client && db - client <= connections;
  checks["one org: counter = ledger = admitted"] =
    inFlightSlack(hot.used - hotBefore.used, results["usage, one org"].statuses["200"]) && hot.used === hot.ledger;
  let spreadUsed = 0;
  for (const row of await sql<{ used: number }[]>`select coalesce(sum(used), 0)::int8 as used from usage_counters where org_id ~ '^org_bench_[0-9]+$'`)
    spreadUsed = row.used;
  checks["1,000 orgs: counters = admitted"] = inFlightSlack(spreadUsed, results["usage, 1,000 orgs"].statuses["200"]);
  const dup = await usedOf("org_bench_dup");
  const d = results["usage, 10% duplicates"];
  checks["duplicates: counter = ledger = admitted − replayed"] = inFlightSlack(dup.used, d.statuses["200"] - d.replayed) && dup.used === dup.ledger;
  const partsCounts = await sql<{ metric: string; used: number; ledger: number }[]>`
    select counter.metric, counter.used::int8 as used,
           (select coalesce(sum(quantity), 0) from usage_events event where event.org_id = counter.org_id and event.metric = counter.metric)::int8 as ledger
      from usage_counters counter where counter.org_id = 'org_bench_parts' order by counter.metric`;
  const partsAdmitted = results["usage, 2 features"].statuses["200"] ?? 0;
  const [partsCalls, partsTokens] = partsCounts;
  checks["2 features: each counter = ledger = admitted × quantity"] =
    partsCounts.length === 2 &&
    partsCounts.every((c) => c.used === c.ledger) &&
    inFlightSlack(partsCalls.used, partsAdmitted) &&
    partsTokens.used === partsCalls.used * 1532;
  const [overage] = await sql<{ used: number; overage: number; ledger: number }[]>`
    select used::int8, overage_used::int8 as overage,
           (select coalesce(sum(overage_units), 0) from usage_events where org_id = 'org_bench_overage')::int8 as ledger
      from usage_counters where org_id = 'org_bench_overage'`;
  checks["overage: counter = ledger = admitted past the included unit"] =
    overage.overage === overage.used - 1 && overage.overage === overage.ledger && inFlightSlack(overage.overage, results["usage, overage"].statuses["200"]);
  const [twice] = await sql<{ n: number }[]>`
    select count(*)::int as n from (select 1 from usage_events group by org_id, request_id, metric having count(*) > 1) x`;
  checks["no request_id counted twice"] = twice.n === 0;
  const full = await usedOf("org_bench_full");
  checks["over quota: nothing counted"] = full.used === 1000 && full.ledger === 0;
  const roundsAfter = await usedOf("org_bench_rounds");
  const usageAdmitted = usage.results.reduce((n, r) => n + (r.statuses["200"] ?? 0) - r.replayed, 0);
  checks["usage rounds: counter = ledger = admitted"] =
    roundsAfter.used - roundsBefore.used >= usageAdmitted &&
    roundsAfter.used - roundsBefore.used - usageAdmitted <= rounds * connections &&
    roundsAfter.used === roundsAfter.ledger;
  checks["worker rounds: every event delivered once"] = worker.exact;

  const base = results.baseline.rps;
  console.log(`\nbench: wrk, 2 threads, ${duration}s per scenario, ${connections} connections, same machine\n`);
  console.log(
    `${"scenario".padEnd(22)} ${"req/s".padStart(9)} ${"admit/s".padStart(9)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"errors".padStart(7)} ${"ratio".padStart(6)}`,
  );
  for (const [name, r] of Object.entries(results)) {
    r.ratio = r.rps / base;
    const admits = name.startsWith("usage") ? admittedPerSec(r).toFixed(0) : "";
    console.log(
      `${name.padEnd(22)} ${r.rps.toFixed(0).padStart(9)} ${admits.padStart(9)} ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)} ${String(r.errors).padStart(7)} ${(r.ratio * 100).toFixed(1).padStart(5)}%`,
    );
  }
  console.log(
    `${"dashboard, 1M events".padEnd(22)} ${dashboard.rps.toFixed(0).padStart(9)} ${"".padStart(9)} ${String(dashboard.p50).padStart(7)} ${String(dashboard.p99).padStart(7)} ${String(dashboard.errors).padStart(7)}   (1 connection; p97.5 ${dashboard.p97_5} ms)`,
  );
  const partsRatio = admittedPerSec(results["usage, 2 features"]) / admittedPerSec(results["usage, one org"]);
  console.log(`\n2 features per request (api_call + tokens), one org: ${(partsRatio * 100).toFixed(1)}% of one feature's admitted/s`);
  console.log("\nthe reads of one sitting, against its quota check:");
  printReads(entitlementReads);
  console.log();
  const denial = compareDenial(quotaCosted, denialCosted);
  console.log(
    `\nsustained quota, ${rounds} × ${duration}s on one process: ${sustained.map((r) => r.rps.toFixed(0)).join(" → ")} req/s; last/first ${lastOverFirst.toFixed(3)}`,
  );
  console.log(
    `sustained usage, ${rounds} × ${duration}s on one process, one org: ${usage.perSecond.map((n) => n.toFixed(0)).join(" → ")} admitted/s; last/first ${usage.lastOverFirst.toFixed(3)}`,
  );
  console.log(
    `sustained worker, ${rounds} × ${workerEvents} events to one webhook endpoint: ${worker.perSecond.map((n) => n.toFixed(0)).join(" → ")} deliveries/s; last/first ${worker.lastOverFirst.toFixed(3)}\n`,
  );
  for (const [name, passed] of Object.entries(checks)) console.log(`${passed ? "exact" : "WRONG"}  ${name}`);
  const bars = {
    "quota ≥ 20% of baseline": results["quota (64 conn)"].ratio! >= 0.2,
    "quota p99 ≤ 5 ms at ~2,000/s": results["quota ~2000/s"].p99 <= 5,
    "usage, one org ≥ 5,000 admitted/s": admittedPerSec(results["usage, one org"]) >= 5000,
    "usage, 1,000 orgs ≥ 5,000 admitted/s": admittedPerSec(results["usage, 1,000 orgs"]) >= 5000,
    "usage, 2 features ≥ 80% of one feature's admitted/s": partsRatio >= 0.8,
    "an overage admission costs ≤ 120% of an included one": admittedPerSec(results["usage, overage"]) * 1.2 >= admittedPerSec(results["usage, one org"]),
    "usage over quota ≥ quota rate": results["usage over quota"].rps >= results["quota (64 conn)"].rps,
    "entitlements (both routes, both periods) ≥ quota rate": readsMeet(entitlementReads),
    "a denial costs less CPU than a quota check": denial.cpuRatio < 1,
    "dashboard (1M events) p95 ≤ 50 ms": dashboard.p97_5 <= 50,
    "sustained quota last/first ≥ 0.95": lastOverFirst >= 0.95,
    "sustained usage last/first ≥ 0.95": usage.lastOverFirst >= 0.95,
    "sustained worker last/first ≥ 0.95": worker.lastOverFirst >= 0.95,
  };
  for (const [name, passed] of Object.entries(bars)) console.log(`${passed ? "meets" : "MISSES"} ${name}`);

  // Last, the webhook storm, on processes of its own: the ones above stop first.
  for (const p of procs.splice(0)) {
    p.kill("SIGTERM");
    await p.exited;
  }
  const storm = await runStorm({ databaseUrl: testDb.url, sql, stripePort });
  const stormPassed = [...Object.values(storm.checks), ...Object.values(storm.bars)].every(Boolean);

  mkdirSync(join(import.meta.dir, "results"), { recursive: true });
  const file = join(import.meta.dir, "results", `${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        at: new Date().toISOString(),
        generator: "wrk",
        duration,
        connections,
        results,
        denial,
        partsRatio,
        sustained,
        usageRounds: usage.perSecond,
        workerRounds: worker.perSecond,
        dashboard,
        checks,
        bars,
        storm,
      },
      null,
      2,
    ),
  );
  console.log(`\nfigures written to ${file}`);
  await cleanup();
  process.exit(Object.values(checks).every(Boolean) && stormPassed ? 0 : 1);
} catch (err) {
  console.error(err);
  await cleanup();
  process.exit(1);
}

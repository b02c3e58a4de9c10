// The bench's sustained rounds beyond the quota check, and what a denial costs against a quota
// check (bun run bench, bench/run.ts):
// - usage rounds: POST /api/v1/usage for one org, round after round on the same app process,
//   distinct request_ids; the last round must admit as many per second as the first (a process
//   must not slow down with what it has served), and the counts stay exact;
// - worker rounds: a real worker process (`bun worker/index.ts`) fans events out to a webhook
//   endpoint (a receiver in this process): per round, N events emitted at once, timed until every
//   delivery succeeded (two jobs each: dispatch_event, deliver_webhook); the last round must go
//   as fast as the first;
// - denial against quota check: the same scenarios with the CPU the app process and the Postgres
//   backends spent per request, which the machine's other load disturbs less than requests/s.

import { join } from "node:path";
import { spawn } from "bun";
import type postgres from "postgres";
import { freePort } from "../test/ports";
import { cpuSecondsOf, duration, load, type Result, type Scenario } from "./wrk";

const root = join(import.meta.dir, "..");

/** A scenario with the CPU the app processes and this database's Postgres backends used during it. */
export type Costed = Result & { appCpuS: number; pgCpuS: number };

export async function postgresBackends(sql: postgres.Sql): Promise<number[]> {
  const rows = await sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
  return rows.map((r) => r.pid);
}

export async function loadCosted(s: Scenario, appPids: number[], sql: postgres.Sql): Promise<Costed> {
  const pgPids = await postgresBackends(sql);
  const [app0, pg0] = [cpuSecondsOf(appPids), cpuSecondsOf(pgPids)];
  const r = await load(s);
  const [app1, pg1] = [cpuSecondsOf(appPids), cpuSecondsOf(pgPids)];
  return { ...r, appCpuS: app1 - app0, pgCpuS: pg1 - pg0 };
}

/** Costed scenarios run one after another as one: counts and CPU summed, the worse of each percentile. */
export function mergeCosted(parts: Costed[]): Costed {
  const sum = (f: (c: Costed) => number) => parts.reduce((a, c) => a + f(c), 0);
  const worst = (f: (c: Costed) => number) => Math.max(...parts.map(f));
  const statuses: Record<string, number> = {};
  for (const c of parts) for (const [status, n] of Object.entries(c.statuses)) statuses[status] = (statuses[status] ?? 0) + n;
  const [total, duration] = [sum((c) => c.total), sum((c) => c.duration)];
  return {
    rps: total / duration,
    p50: worst((c) => c.p50),
    p99: worst((c) => c.p99),
    p97_5: worst((c) => c.p97_5),
    errors: sum((c) => c.errors),
    statuses,
    replayed: sum((c) => c.replayed),
    total,
    duration,
    generatorCpuS: sum((c) => c.generatorCpuS),
    appCpuS: sum((c) => c.appCpuS),
    pgCpuS: sum((c) => c.pgCpuS),
  };
}

/**
 * Scenarios compared in one sitting, interleaved: each runs in `rounds` slices of the duration,
 * in turn, every other round in reverse order (A B C, C B A, …), so a drift of the machine over
 * the sitting falls on each alike instead of on whichever ran last. Each scenario's slices merged.
 */
export async function interleavedCosted<K extends string>(
  scenarios: Record<K, Scenario>,
  appPids: number[],
  sql: postgres.Sql,
  rounds = 2,
): Promise<Record<K, Costed>> {
  const names = Object.keys(scenarios) as K[];
  const slices = Object.fromEntries(names.map((n) => [n, [] as Costed[]])) as Record<K, Costed[]>;
  const seconds = (scenarios[names[0]].duration ?? duration) / rounds;
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      slices[name].push(await loadCosted({ ...scenarios[name], duration: seconds }, appPids, sql));
    }
  }
  return Object.fromEntries(names.map((n) => [n, mergeCosted(slices[n])])) as Record<K, Costed>;
}

/** Microseconds of CPU per answered request: the app's, Postgres's. */
export const perRequestUs = (c: Costed) => ({ app: (1e6 * c.appCpuS) / c.total, pg: (1e6 * c.pgCpuS) / c.total });

/** The denial scenario against the quota check: requests/s ratio and CPU per request, printed. */
export function compareDenial(quota: Costed, denial: Costed): { rpsRatio: number; cpuRatio: number } {
  const [q, d] = [perRequestUs(quota), perRequestUs(denial)];
  const rpsRatio = denial.rps / quota.rps;
  const cpuRatio = (d.app + d.pg) / (q.app + q.pg);
  console.log(
    `denial vs quota check: ×${rpsRatio.toFixed(2)} requests/s; CPU per request app ${d.app.toFixed(0)} vs ${q.app.toFixed(0)} µs, Postgres ${d.pg.toFixed(0)} vs ${q.pg.toFixed(0)} µs (denial/quota ${cpuRatio.toFixed(2)})`,
  );
  return { rpsRatio, cpuRatio };
}

export type Rounds = { perSecond: number[]; lastOverFirst: number };
const roundsOf = (perSecond: number[]): Rounds => ({ perSecond, lastOverFirst: perSecond[perSecond.length - 1] / perSecond[0] });

/** POST /api/v1/usage for one org (whose quota the rounds cannot use up), `rounds` times; admitted/s per round. */
export async function usageRounds(input: { url: string; key: string; rounds: number; runId: string }): Promise<Rounds & { results: Result[] }> {
  const results: Result[] = [];
  for (let i = 0; i < input.rounds; i++) results.push(await load({ url: input.url, kind: "usage", keys: [input.key], runId: `${input.runId}u${i}` }));
  return { ...roundsOf(results.map((r) => ((r.statuses["200"] ?? 0) - r.replayed) / r.duration)), results };
}

/**
 * A worker process and a webhook receiver; per round, `events` events of `orgId` emitted in one
 * statement, timed until each one's delivery to the org's endpoint succeeded. Deliveries/s per round.
 */
export async function workerRounds(input: {
  sql: postgres.Sql;
  databaseUrl: string;
  orgId: string;
  rounds: number;
  events: number;
}): Promise<Rounds & { exact: boolean }> {
  const { sql, orgId } = input;
  // Requests received per event (webhook-id): the org's setup events may arrive too, the rounds' must arrive once each.
  const received = new Map<string, number>();
  const receiver = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (req) => {
      await req.text();
      const id = req.headers.get("webhook-id") ?? "";
      received.set(id, (received.get(id) ?? 0) + 1);
      return new Response("ok");
    },
  });
  // A signing secret of this run only (Standard Webhooks: whsec_ + base64 of random bytes).
  const secret = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64")}`;
  await sql`insert into webhook_endpoints (id, org_id, url, event_types, secret)
            values ('we_bench_rounds', ${orgId}, ${`http://127.0.0.1:${receiver.port}/hook`}, '{api_key.created}', ${secret})`;
  const worker = spawn(["bun", "worker/index.ts"], {
    cwd: root,
    // A port nothing listens on for Stripe: the worker's cron jobs (usage report) must not reach
    // another copy's local Stripe; they fail at once instead, outside the measured deliveries.
    env: { ...process.env, DATABASE_URL: input.databaseUrl, LOG_LEVEL: "fatal", STRIPE_LOCAL_PORT: String(freePort()) },
    stdout: "ignore",
    stderr: "inherit",
  });
  /** Emits `n` events in one statement; resolves with their ids once each one's delivery succeeded. */
  const deliver = async (n: number, round: string): Promise<string[]> => {
    const started = performance.now();
    const [{ ids }] = await sql<{ ids: string[] }[]>`
      select array_agg(emit_event(${orgId}, 'api_key.created',
                                  jsonb_build_object('keyId', 'key_bench_' || g, 'name', 'bench', 'prefix', 'mk_test_bench'))) as ids
        from generate_series(1, ${n}::int) g`;
    for (;;) {
      const [{ done }] = await sql<{ done: number }[]>`
        select count(*)::int as done from webhook_deliveries
         where endpoint_id = 'we_bench_rounds' and event_id = any(${ids}::text[]) and status = 'succeeded'`;
      if (done === ids.length) return ids;
      if (performance.now() - started > 120_000) throw new Error(`worker ${round}: ${done} of ${ids.length} deliveries after 120 s`);
      if (worker.exitCode !== null) throw new Error(`the worker exited (${worker.exitCode})`);
      await Bun.sleep(20);
    }
  };
  const perSecond: number[] = [];
  const emitted: string[] = [];
  try {
    // Warm-up (JIT, the worker's pools, the first job pickups), not counted.
    await deliver(Math.max(50, Math.round(input.events / 10)), "warm-up");
    for (let i = 0; i < input.rounds; i++) {
      const started = performance.now();
      const ids = await deliver(input.events, `round ${i + 1}`);
      perSecond.push((1000 * ids.length) / (performance.now() - started));
      emitted.push(...ids);
    }
  } finally {
    worker.kill("SIGTERM");
    await worker.exited;
    receiver.stop(true);
  }
  const [{ delivered }] = await sql<{ delivered: number }[]>`
    select count(*)::int as delivered from webhook_deliveries
     where endpoint_id = 'we_bench_rounds' and event_id = any(${emitted}::text[]) and status = 'succeeded' and attempts = 1`;
  const exact = emitted.length === input.rounds * input.events && delivered === emitted.length && emitted.every((id) => received.get(id) === 1);
  return { ...roundsOf(perSecond), exact };
}

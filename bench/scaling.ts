// `bun run bench --processes 1,2`: quota checks (one hot org) and usage records (one hot org, and
// 1,000 orgs) against 1, then 2 (…) app processes sharing one port (SO_REUSEPORT), in one
// sitting. Prints requests/s, admissions/s, p99 and the scaling factor against the first count,
// and where the CPU went: wrk's own, the app processes', and the Postgres backends serving this
// database (the load generator, the apps and Postgres all share this machine's cores).

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import type postgres from "postgres";
import { postgresBackends } from "./rounds";
import { connections, cpuSecondsOf, duration, load, type Result, type Scenario } from "./wrk";

const root = join(import.meta.dir, "..");

type Measured = Result & { processes: number; admitted: number; appCpuS: number; pgCpuS: number };
export type ScalingInput = { counts: number[]; hotKey: string; spreadKeys: string[]; databaseUrl: string; sql: postgres.Sql; port: number };

/** `n` app processes on one port; resolves once each has said it listens and the port answers. */
async function startApps(n: number, input: ScalingInput): Promise<Subprocess[]> {
  const apps: Subprocess[] = [];
  let listening = 0;
  for (let i = 0; i < n; i++) {
    const p = spawn(["bun", "server.ts"], {
      cwd: root,
      env: { ...process.env, PORT: String(input.port), DATABASE_URL: input.databaseUrl, LOG_LEVEL: "warn" },
      stdout: "pipe",
      stderr: "inherit",
    });
    apps.push(p);
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of p.stdout as unknown as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(chunk);
        if (text.includes('"msg":"app listening"')) listening++;
        else process.stdout.write(text);
      }
    })();
  }
  for (let i = 0; i < 300 && listening < n; i++) await Bun.sleep(100);
  if (listening < n) throw new Error(`only ${listening} of ${n} app processes started`);
  return apps;
}

async function stopApps(apps: Subprocess[]): Promise<void> {
  for (const p of apps) p.kill("SIGTERM");
  await Promise.all(apps.map((p) => p.exited));
}

/** One scenario with the CPU each party used during it. */
async function measure(s: Scenario, apps: Subprocess[], input: ScalingInput): Promise<Measured> {
  const appPids = apps.map((p) => p.pid);
  const pgPids = await postgresBackends(input.sql);
  const [app0, pg0] = [cpuSecondsOf(appPids), cpuSecondsOf(pgPids)];
  const r = await load(s);
  const [app1, pg1] = [cpuSecondsOf(appPids), cpuSecondsOf(pgPids)];
  const admitted = s.kind === "usage" ? (r.statuses["200"] ?? 0) - r.replayed : 0;
  return { ...r, processes: apps.length, admitted, appCpuS: app1 - app0, pgCpuS: pg1 - pg0 };
}

const pct = (cpuS: number, r: Result) => `${((100 * cpuS) / r.duration).toFixed(0)}%`;

export async function runScaling(input: ScalingInput): Promise<boolean> {
  const url = `http://127.0.0.1:${input.port}`;
  const runId = Date.now().toString(36);
  const rows: Record<string, Measured[]> = { quota: [], "usage, one org": [], "usage, 1,000 orgs": [] };
  // What the setup put in counters and the ledger without an admission (org_bench_full's counter is
  // filled, the overage and credits orgs' counters start past their one included unit).
  const before = await usageTotals(input.sql);
  for (const n of input.counts) {
    const apps = await startApps(n, input);
    try {
      // Warm-up: JIT, prepared statements, key caches, every process's pool opened.
      await load({ url, kind: "quota", keys: [input.hotKey], duration: 2 });
      await load({ url, kind: "usage", keys: input.spreadKeys, runId: `${runId}w${n}`, duration: 2 });
      rows.quota.push(await measure({ url, kind: "quota", keys: [input.hotKey] }, apps, input));
      rows["usage, one org"].push(await measure({ url, kind: "usage", keys: [input.hotKey], runId: `${runId}h${n}` }, apps, input));
      rows["usage, 1,000 orgs"].push(await measure({ url, kind: "usage", keys: input.spreadKeys, runId: `${runId}s${n}` }, apps, input));
    } finally {
      await stopApps(apps);
    }
  }

  const [load1, load5] = (await Bun.file("/proc/loadavg").text()).split(" ");
  console.log(
    `\nbench --processes ${input.counts.join(",")}: wrk, 2 threads, ${connections} connections, ${duration}s per scenario; load average ${load1} ${load5}`,
  );
  console.log("CPU columns: share of one core during the scenario (wrk itself; all app processes; the Postgres backends of this database)\n");
  console.log(
    `${"scenario".padEnd(16)} ${"procs".padStart(5)} ${"req/s".padStart(8)} ${"admit/s".padStart(8)} ${"p99 ms".padStart(7)} ${"errors".padStart(6)} ${"scale".padStart(6)} ${"wrk".padStart(5)} ${"apps".padStart(5)} ${"pg".padStart(5)} ${"admit/pg-cpu-s".padStart(15)}`,
  );
  for (const [name, measured] of Object.entries(rows)) {
    for (const m of measured) {
      const scale = m.rps / measured[0].rps;
      const perPgCpu = m.admitted > 0 && m.pgCpuS > 0 ? (m.admitted / m.pgCpuS).toFixed(0) : "";
      const admits = m.admitted > 0 ? (m.admitted / m.duration).toFixed(0) : "";
      console.log(
        `${name.padEnd(16)} ${String(m.processes).padStart(5)} ${m.rps.toFixed(0).padStart(8)} ${admits.padStart(8)} ${String(m.p99).padStart(7)} ${String(m.errors).padStart(6)} ${`×${scale.toFixed(2)}`.padStart(6)} ${pct(m.generatorCpuS, m).padStart(5)} ${pct(m.appCpuS, m).padStart(5)} ${pct(m.pgCpuS, m).padStart(5)} ${perPgCpu.padStart(15)}`,
      );
    }
  }

  // Exactness across the processes: every admission counted once, in the counter and the ledger
  // (org_bench_full's counter was filled by the setup, not by admissions).
  const after = await usageTotals(input.sql);
  const [counted, logged] = [after.counters - before.counters, after.ledger - before.ledger];
  const ok = counted === logged && after.twice === 0;
  console.log(`\n${ok ? "exact" : "WRONG"}  counters = ledger, since the setup (${counted} = ${logged}), no request_id counted twice`);

  mkdirSync(join(import.meta.dir, "results"), { recursive: true });
  const file = join(import.meta.dir, "results", `scaling-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        at: new Date().toISOString(),
        generator: "wrk",
        duration,
        connections,
        loadAverage: [load1, load5],
        rows,
        exact: { counted, logged, twice: after.twice },
      },
      null,
      2,
    ),
  );
  console.log(`figures written to ${file}`);
  return ok;
}

/** Units in the bench orgs' counters and ledger, and request_ids counted more than once. */
async function usageTotals(sql: postgres.Sql): Promise<{ counters: number; ledger: number; twice: number }> {
  const [row] = await sql<{ counters: string; ledger: string; twice: number }[]>`
    select (select coalesce(sum(used), 0) from usage_counters where org_id like 'org_bench_%')::int8 as counters,
           (select coalesce(sum(quantity), 0) from usage_events where org_id like 'org_bench_%')::int8 as ledger,
           (select count(*) from (select 1 from usage_events group by org_id, request_id having count(*) > 1) x)::int as twice`;
  return { counters: Number(row.counters), ledger: Number(row.ledger), twice: row.twice };
}

// The SLOs across processes: each app process adds its per-minute buckets to Postgres, so the
// report (for /admin and `ops slo`) counts every request of every process exactly once; the
// breach watch alerts once per breach (an error line and one Sentry event) and closes on recovery.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { spawn } from "bun";
import { startApp } from "../../../test/app";
import { api, orgWithKey } from "../../../test/factories";
import { type SentryReceiver, startSentryReceiver } from "../../../test/sentry-receiver";
import { sql } from "../platform/db.server";
import { LATENCY_BOUNDS } from "./metrics.server";
import { quantile, type SloReport, sloReport } from "./slo.server";

const root = join(import.meta.dir, "..", "..", "..");
const line = (r: SloReport, id: string) => r.slos.find((s) => `${s.slo}/${s.window}` === id)!;

async function run(args: string[], env: Record<string, string> = {}) {
  const proc = spawn(["bun", ...args], { cwd: root, env: { ...process.env, LOG_LEVEL: "info", ...env }, stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  return { out, code };
}

describe("quantile", () => {
  test("interpolates inside the bucket and is within target exactly when 95% of samples are", () => {
    const counts = new Array(LATENCY_BOUNDS.length + 1).fill(0);
    const at50ms = LATENCY_BOUNDS.indexOf(0.05);
    counts[at50ms] = 95;
    counts[at50ms + 1] = 5;
    expect(quantile(LATENCY_BOUNDS, counts, 0.95)).toBeCloseTo(0.05, 9);
    counts[at50ms + 1] = 6; // 95 of 101 is under 95%
    expect(quantile(LATENCY_BOUNDS, counts, 0.95)!).toBeGreaterThan(0.05);
    expect(quantile(LATENCY_BOUNDS, new Array(counts.length).fill(0), 0.95)).toBeNull();
  });
});

describe("SLO windows across processes", () => {
  test("two app processes' quota checks are all counted once, in the report and in ops slo", async () => {
    const before = line(await sloReport(), "quota_p95/5m").samples;
    const [a, b] = await Promise.all([startApp(), startApp()]);
    const { key } = await orgWithKey();
    for (let i = 0; i < 7; i++) expect((await api(a.url, key).quota()).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await api(b.url, key).quota()).status).toBe(200);
    await Promise.all([a.stop(), b.stop()]); // each adds what it has not flushed yet
    const report = await sloReport();
    expect(line(report, "quota_p95/5m").samples - before).toBe(12);

    const ops = await run(["cli/ops.ts", "slo", "--json"], { LOG_LEVEL: "silent" });
    expect(ops.code).toBe(0);
    const printed = JSON.parse(ops.out) as SloReport;
    expect(line(printed, "quota_p95/5m").samples).toBe(line(report, "quota_p95/5m").samples);
    expect(printed.slos.map((s) => `${s.slo}/${s.window}`)).toEqual([
      "quota_p95/5m",
      "quota_p99/5m",
      "quota_p95/60m",
      "quota_p99/60m",
      "converge_p95/5m",
      "converge_p95/60m",
      "drift_max/60m",
    ]);
  });

  test("a running process adds its buckets every ~10 s, without stopping", async () => {
    const app = await startApp();
    try {
      const before = line(await sloReport(), "quota_p95/5m").samples;
      const { key } = await orgWithKey();
      for (let i = 0; i < 3; i++) await api(app.url, key).quota();
      const deadline = Date.now() + 15_000;
      let now = before;
      while (now - before < 3 && Date.now() < deadline) {
        await Bun.sleep(500);
        now = line(await sloReport(), "quota_p95/5m").samples;
      }
      expect(now - before).toBe(3);
    } finally {
      await app.stop();
    }
  });

  test("the worst drift of the last hour is the drift SLO and the /metrics gauge", async () => {
    await sql`insert into slo_drift (period_key, metric, max_drift) values ('2026-10', 'tokens', 0.012)
              on conflict (period_key, metric) do update set max_drift = 0.012, measured_at = now()`;
    const report = await sloReport();
    expect(line(report, "drift_max/60m")).toMatchObject({ value: 0.012, target: 0.005, ok: false });
    // Each metered feature is its own SLO line (and its own alert).
    expect(line(report, "drift_max:tokens/60m")).toMatchObject({ value: 0.012, target: 0.005, ok: false });
    const app = await startApp();
    try {
      const text = await (await fetch(`${app.url}/metrics`)).text();
      expect(text).toContain('msp_usage_drift_ratio{period="2026-10",metric="tokens"} 0.012');
    } finally {
      await app.stop();
      await sql`delete from slo_drift where period_key = '2026-10'`;
    }
  });
});

describe("SLO breach watch (slo_watch)", () => {
  let receiver: SentryReceiver;
  const SLOW = 1_000_000;
  beforeAll(() => {
    receiver = startSentryReceiver();
  });
  afterAll(() => receiver.stop());
  const watch = () => run(["test/run-task.ts", "slo_watch"], { SENTRY_DSN: receiver.dsn });
  const alerts = () => receiver.events().filter((e) => e.message === "SLO breached: quota_p95/5m");

  test("after 5 minutes in breach: one error line and one Sentry event per breach; recovery closes it", async () => {
    await sql`delete from slo_breaches`;
    // A million quota checks over 10 s this minute: p95 far above 50 ms.
    await sql`insert into slo_buckets (series, minute, bucket, count)
              values ('quota_latency', date_trunc('minute', now()), ${LATENCY_BOUNDS.length}, ${SLOW})
              on conflict (series, minute, bucket) do update set count = slo_buckets.count + excluded.count`;
    const first = await watch();
    expect(first.code).toBe(0);
    expect(first.out).not.toContain('"msg":"SLO breached"');
    const [open] = await sql`select alerted_at from slo_breaches where slo = 'quota_p95/5m'`;
    expect(open.alerted_at).toBeNull();

    await sql`update slo_breaches set breached_since = now() - interval '6 minutes' where slo = 'quota_p95/5m'`;
    const second = await watch();
    const errorLine = second.out.split("\n").find((l) => l.includes('"msg":"SLO breached"'));
    expect(JSON.parse(errorLine!)).toMatchObject({ level: "error", slo: "quota_p95/5m", target: 0.05 });
    await Bun.sleep(300);
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0]).toMatchObject({ level: "error", tags: { slo: "quota_p95/5m" } });

    const third = await watch();
    expect(third.out).not.toContain('"msg":"SLO breached"');
    await Bun.sleep(300);
    expect(alerts()).toHaveLength(1);

    // Recovery: the slow checks go, and a hundred million fast ones (1 ms) dwarf whatever other
    // tests left in this window.
    const shift = (bucket: number, by: number) =>
      sql`insert into slo_buckets (series, minute, bucket, count) values ('quota_latency', date_trunc('minute', now()), ${bucket}, ${by})
          on conflict (series, minute, bucket) do update set count = slo_buckets.count + excluded.count`;
    await sql`update slo_buckets set count = count - ${SLOW} where series = 'quota_latency' and bucket = ${LATENCY_BOUNDS.length} and minute >= now() - interval '3 minutes' and count >= ${SLOW}`;
    await shift(0, 100 * SLOW);
    const recovered = await watch();
    await shift(0, -100 * SLOW);
    expect(recovered.out).toContain('"msg":"SLO recovered"');
    expect(await sql`select 1 from slo_breaches where slo = 'quota_p95/5m'`).toHaveLength(0);
  });

  test("drift alerts per metered feature: a tokens breach is its own, named, alerted once", async () => {
    await sql`delete from slo_breaches`;
    await sql`insert into slo_drift (period_key, metric, max_drift) values ('2026-11', 'tokens', 0.02)
              on conflict (period_key, metric) do update set max_drift = 0.02, measured_at = now()`;
    const driftBreaches = async () => (await sql<{ slo: string }[]>`select slo from slo_breaches where slo like 'drift%' order by slo`).map((r) => r.slo);
    try {
      expect((await watch()).code).toBe(0);
      expect(await driftBreaches()).toEqual(["drift_max:tokens/60m"]);
      await sql`update slo_breaches set breached_since = now() - interval '6 minutes' where slo = 'drift_max:tokens/60m'`;
      const second = await watch();
      const breached = second.out
        .split("\n")
        .filter((l) => l.includes('"msg":"SLO breached"'))
        .map((l) => JSON.parse(l).slo);
      expect(breached).toEqual(["drift_max:tokens/60m"]);
      expect((await watch()).out).not.toContain('"slo":"drift_max:tokens/60m"');
    } finally {
      await sql`delete from slo_drift where period_key = '2026-11'`;
      await sql`delete from slo_breaches where slo like 'drift%'`;
    }
  });
});

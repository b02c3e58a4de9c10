// The backup drill: `ops backup` under usage load, `ops restore` into a fresh database, and the
// restored system reconciled with Stripe. Stripe is not restored (it never is): the restored
// database's own usage reporting brings Stripe's meter to the restored counters, exactly.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "bun";
import postgres from "postgres";
import { holdReporterTicks, orgWithUsage, startBillingSystem, until } from "../../../test/billing";
import { api } from "../../../test/factories";
import { startWorker, type TestWorker } from "../../../test/worker";
import { reportUsageToStripe } from "../billing/meter-report.server";

const system = startBillingSystem({}, { meterLagMs: 300 });
const dir = mkdtempSync(join(tmpdir(), "backup-drill-"));
const restoredName = `msp_restored_${process.pid}_${Date.now().toString(36)}`;
const restoredUrl = (() => {
  const u = new URL(process.env.DATABASE_URL!);
  u.pathname = `/${restoredName}`;
  return u.toString();
})();
let restoredWorker: TestWorker | undefined;

afterAll(async () => {
  await restoredWorker?.stop();
  const admin = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${restoredName}" with (force)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
});

/** `bun run ops <args> --json` as an operator runs it, against `databaseUrl`. */
async function ops(databaseUrl: string, ...args: string[]) {
  const proc = spawn(["bun", join(import.meta.dir, "../../../cli/ops.ts"), ...args, "--json"], {
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: "silent", STRIPE_METER_LAG_SECONDS: "0" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  return { code, body: JSON.parse(out) };
}

describe("backup and restore drill", () => {
  test("a backup taken under usage load restores into a fresh database whose counters equal its ledger, and Stripe's meter after reconciliation", async () => {
    // The every-minute reporter stays out; this test reports at chosen moments.
    await holdReporterTicks();
    const orgs: Awaited<ReturnType<typeof orgWithUsage>>[] = [];
    for (let i = 0; i < 3; i++) orgs.push(await orgWithUsage(system, 2));
    // Part of the usage is in Stripe before the backup, the rest is not: the backup holds both kinds.
    await reportUsageToStripe();

    // Usage from 12 clients over the three orgs, each answer noted with when it arrived.
    const answered: { orgId: string; id: string; sentAt: number; answeredAt: number; status: number }[] = [];
    let stop = false;
    let n = 0;
    const client = async (c: number) => {
      while (!stop) {
        const { orgId, key } = orgs[c % orgs.length];
        const id = `drill_${c}_${n++}`;
        const sentAt = performance.now();
        const res = await api(system.app.url, key).record({ request_id: id, quantity: 1 });
        await res.arrayBuffer();
        answered.push({ orgId, id, sentAt, answeredAt: performance.now(), status: res.status });
      }
    };
    const load = Promise.all(Array.from({ length: 12 }, (_, c) => client(c)));
    await until(async () => answered.length >= 300, 20_000);

    const backupStarted = performance.now();
    const file = join(dir, "drill.dump");
    const backup = await ops(process.env.DATABASE_URL!, "backup", file);
    const backupEnded = performance.now();
    const during = answered.length;
    await until(async () => answered.length >= during + 100, 20_000);
    stop = true;
    await load;

    expect(backup.code).toBe(0);
    expect(backup.body).toMatchObject({ file, database: new URL(process.env.DATABASE_URL!).pathname.slice(1) });
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(answered.filter((a) => a.status !== 200)).toEqual([]);

    const restore = await ops(process.env.DATABASE_URL!, "restore", file, "--database", restoredName);
    expect(restore.code).toBe(0);
    expect(restore.body).toMatchObject({ database: restoredName });

    const restored = postgres(restoredUrl, { max: 2, onnotice: () => {} });
    try {
      const ids = new Set((await restored<{ id: string }[]>`select request_id as id from usage_events where request_id like 'drill_%'`).map((r) => r.id));
      // One snapshot: everything answered before the dump began is in it, nothing sent after it ended.
      expect(answered.filter((a) => a.answeredAt < backupStarted && !ids.has(a.id)).length).toBe(0);
      expect(answered.filter((a) => a.sentAt > backupEnded && ids.has(a.id)).length).toBe(0);
      expect(ids.size).toBeGreaterThan(300);
      expect(ids.size).toBeLessThan(answered.length);
      // Counters equal the ledger, org by org.
      const counts = await restored<{ orgId: string; used: number; ledger: number }[]>`
        select c.org_id as "orgId", c.used::int as used,
               (select coalesce(sum(e.quantity), 0)::int from usage_events e where e.org_id = c.org_id) as ledger
          from usage_counters c where c.org_id = any(${orgs.map((o) => o.orgId)}::text[]) and c.metric = 'api_call'`;
      expect(counts).toHaveLength(3);
      for (const c of counts) expect(c.used).toBe(c.ledger);

      // Reconciliation: the restored database's own reporter sends what it had not reported, to
      // the Stripe that was never restored; then Stripe's meter equals the restored counters.
      await restored`delete from graphile_worker._private_jobs where key = 'report_usage:backoff'`;
      restoredWorker = await startWorker({ ...system.env, DATABASE_URL: restoredUrl });
      await restored`select graphile_worker.add_job('report_usage', '{}'::json, queue_name := 'report_usage')`;
      const drift = await until(async () => {
        const { body } = await ops(restoredUrl, "drift");
        // Stripe may refuse the read while the reporter sends (its rate limit): asked again.
        if (!body.rows) return null;
        // (Each org also has an empty counter per other metered feature of its plan: tokens.)
        const ours = (body.rows as { orgId: string; metric: string; recorded: number; reported: number }[]).filter(
          (r) => r.metric === "api_call" && orgs.some((o) => o.orgId === r.orgId),
        );
        return ours.length === 3 && ours.every((r) => r.reported === r.recorded) ? ours : null;
      }, 20_000);
      for (const c of counts) expect(drift.find((r) => r.orgId === c.orgId)).toMatchObject({ recorded: c.used, reported: c.used, drift: 0 });
    } finally {
      await restored.end();
    }
  }, 60_000);

  test("bad input changes nothing: a file that is no backup, an existing database, a missing file", async () => {
    const notADump = join(dir, "not-a-dump");
    await Bun.write(notADump, "hello");
    const bad = await ops(process.env.DATABASE_URL!, "restore", notADump);
    expect(bad).toMatchObject({ code: 1, body: { ok: false, error: { code: "VALIDATION_FAILED" } } });
    const missing = await ops(process.env.DATABASE_URL!, "restore", join(dir, "nope.dump"));
    expect(missing).toMatchObject({ code: 1, body: { ok: false, error: { code: "VALIDATION_FAILED" } } });
    const file = join(dir, "small.dump");
    expect((await ops(process.env.DATABASE_URL!, "backup", file)).code).toBe(0);
    const again = await ops(process.env.DATABASE_URL!, "backup", file);
    expect(again).toMatchObject({ code: 1, body: { ok: false, error: { code: "VALIDATION_FAILED" } } });
    const ownDb = new URL(process.env.DATABASE_URL!).pathname.slice(1);
    const existing = await ops(process.env.DATABASE_URL!, "restore", file, "--database", ownDb);
    expect(existing).toMatchObject({ code: 1, body: { ok: false, error: { code: "VALIDATION_FAILED" } } });
    const badName = await ops(process.env.DATABASE_URL!, "restore", file, "--database", 'x"; drop database y; --');
    expect(badName).toMatchObject({ code: 1, body: { ok: false, error: { code: "VALIDATION_FAILED" } } });
    expect(JSON.stringify([bad, missing, again, existing, badName])).not.toMatch(/password|postgres:\/\/|\bat .*:\d+/);
  }, 30_000);
});

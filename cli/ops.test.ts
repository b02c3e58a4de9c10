// The ops CLI's contract (scripts read its JSON): each command with --json prints exactly one JSON object on
// stdout; errors exit 1 with an envelope-like object. Run as an operator would, as a process.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { spawn } from "bun";
import { startBillingSystem } from "../test/billing";
import { api, rid } from "../test/factories";

const system = startBillingSystem();

async function opsRaw(...args: string[]) {
  const proc = spawn(["bun", join(import.meta.dir, "ops.ts"), ...args, "--json"], {
    env: { ...process.env, LOG_LEVEL: "silent" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, out, err };
}

async function ops(...args: string[]) {
  const { code, out, err } = await opsRaw(...args);
  const lines = out.trim().split("\n");
  expect(lines.length).toBe(1);
  return { code, body: JSON.parse(lines[0]), out, err };
}

describe("bun run ops --json", () => {
  test("org:create, subscribe, key:create, usage, clock:advance, jobs, replay, drift, key:revoke, sessions:revoke", async () => {
    const orgId = `org_cli${Date.now().toString(36)}`;
    const created = await ops("org:create", orgId, "--name", "CLI Co", "--email", "cli@example.com");
    expect(created.code).toBe(0);
    expect(created.body).toMatchObject({ id: orgId, name: "CLI Co" });
    expect(created.body.stripeCustomerId).toMatch(/^cus_/);
    expect(created.body.stripeTestClockId).toMatch(/^clock_/);

    const subscribed = await ops("subscribe", orgId, "starter");
    expect(subscribed.body).toMatchObject({ orgId, planCode: "starter", status: "active" });

    const key = await ops("key:create", orgId, "--name", "cli");
    expect(key.body.key).toMatch(/^mk_test_/);
    expect((await api(system.app.url, key.body.key).record({ request_id: rid(), quantity: 4 })).status).toBe(200);

    const usage = await ops("usage", orgId);
    expect(usage.body).toMatchObject({ used: 4, included: 50_000, planCode: "starter" });

    const advanced = await ops("clock:advance", orgId, "31d");
    expect(advanced.body.subscription).toMatchObject({ planCode: "starter", status: "active" });
    expect(advanced.body.events).toBeGreaterThan(0);
    expect((await ops("usage", orgId)).body).toMatchObject({ used: 0 });

    const { sql } = await import("../app/server/platform/db.server");
    // A known failed job: a task no worker runs, marked as having used its one attempt.
    const failedKey = `ops_test_${orgId}`;
    await sql`select graphile_worker.add_job('ops_test_nobody_runs', '{}'::json, job_key := ${failedKey}::text, max_attempts := 1)`;
    await sql`update graphile_worker._private_jobs set attempts = 1, last_error = ${"boom\n    at somewhere"} where key = ${failedKey}`;
    const jobs = await ops("jobs");
    await sql`select graphile_worker.remove_job(${failedKey}::text)`;
    expect(jobs.body).toHaveProperty("lagMs");
    expect(Array.isArray(jobs.body.failed)).toBe(true);
    expect(typeof jobs.body.lagMs).toBe("number");
    expect(jobs.body.lagMs).toBeGreaterThanOrEqual(0);
    expect(jobs.body.failed.find((f: { key: string }) => f.key === failedKey)).toMatchObject({
      task: "ops_test_nobody_runs",
      attempts: 1,
      lastError: "boom",
    });
    expect(jobs.body.tasks.find((t: { task: string }) => t.task === "ops_test_nobody_runs")).toMatchObject({ failed: 1, queued: 0, running: 0, retrying: 0 });

    const [stored] = await sql<
      { id: string }[]
    >`select e.id from stripe_events e join organisations o on o.stripe_customer_id = e.customer_id where o.id = ${orgId} limit 1`;
    const [{ before }] = await sql<{ before: Date }[]>`select clock_timestamp() as before`;
    const replayed = await ops("replay", stored.id);
    expect(replayed.body).toMatchObject({ eventId: stored.id });
    expect(replayed.body.jobId).toMatch(/^\d+$/);
    // The worker may run (and delete) the job at once: while it is queued it is the one replay named,
    // and once run the event has been processed again after the replay.
    const [queued] = await sql<{ id: string }[]>`select id::text from graphile_worker.jobs where key = ${stored.id}`;
    if (queued) expect(queued.id).toBe(replayed.body.jobId);
    const reprocessed = async () => {
      const [ev] = await sql<{ processed_at: Date | null }[]>`select processed_at from stripe_events where id = ${stored.id}`;
      return ev.processed_at !== null && ev.processed_at > before;
    };
    const waitUntil = Date.now() + 15_000;
    while (!(await reprocessed()) && Date.now() < waitUntil) await Bun.sleep(100);
    expect(await reprocessed()).toBe(true);

    const drift = await ops("drift");
    expect(Array.isArray(drift.body.rows)).toBe(true);
    // This org recorded 4 calls in its first period: that counter is in the report.
    const ours = drift.body.rows.filter((r: { orgId: string }) => r.orgId === orgId);
    expect(ours.find((r: { periodKey: string }) => r.periodKey === usage.body.periodKey)).toMatchObject({ recorded: 4 });
    for (const r of ours) expect(["settled", "settling", "displaced"]).toContain(r.status);

    const revoked = await ops("key:revoke", key.body.id);
    expect(revoked.body).toMatchObject({ id: key.body.id });

    const signedOut = await ops("sessions:revoke", "cli@example.com");
    expect(signedOut.body).toEqual({ email: "cli@example.com", revoked: 0 });
  });

  test("bad input: an unknown plan or duration exits 1 with an error object", async () => {
    const badPlan = await ops("subscribe", "org_nobody", "gold");
    expect(badPlan.code).toBe(1);
    expect(badPlan.body).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED" } });
    const badDuration = await ops("clock:advance", "org_nobody", "soon");
    expect(badDuration.code).toBe(1);
    expect(badDuration.body.ok).toBe(false);
    const oddDuration = await ops("clock:advance", "org_b", "1x");
    expect(oddDuration).toMatchObject({ code: 1, body: { ok: false, error: { code: "VALIDATION_FAILED" } } });
    expect(oddDuration.err).not.toContain("advancing");
    for (const month of ["2026-13", "2026-00", "2026-1", "26-01", "2026-01-01"]) {
      const badMonth = await ops("drift", month);
      expect([month, badMonth.code, badMonth.body.error?.code]).toEqual([month, 1, "VALIDATION_FAILED"]);
    }
  });

  test("bad input: an unknown flag or a missing argument is VALIDATION_FAILED, with no stack trace", async () => {
    const typo = await ops("key:create", "org_x", "--nmae", "x");
    expect(typo).toMatchObject({ code: 1, body: { ok: false, error: { code: "VALIDATION_FAILED" } } });
    expect(typo.body.error.message).toContain("--nmae");
    expect(typo.out + typo.err).not.toMatch(/\bat .*:\d+|ERR_PARSE_ARGS|TypeError/);
    const noOrg = await ops("subscribe");
    expect(noOrg).toMatchObject({ code: 1, body: { ok: false, error: { code: "VALIDATION_FAILED" } } });
    expect(noOrg.body.error.message).toContain("subscribe <orgId> <planCode>");
  });

  test("bad input: an extra argument or a negative value is refused with the command's usage, not the whole list", async () => {
    const extra = await ops("catalog:show", "extra");
    expect(extra).toMatchObject({ code: 1, body: { ok: false, error: { code: "VALIDATION_FAILED", message: 'catalog:show does not take "extra"' } } });
    const tooMany = await ops("subscribe", "org_x", "starter", "growth");
    expect(tooMany.body.error.message).toBe('subscribe does not take "growth"');
    for (const args of [
      ["clock:advance", "org_x", "-5d"],
      ["catalog:migrate", "growth", "--from", "-1", "--to", "2"],
    ]) {
      const negative = await ops(...args);
      expect([negative.code, negative.body.error.code]).toEqual([1, "VALIDATION_FAILED"]);
      expect(negative.body.error.message).toContain("negative");
    }
    const human = spawn(["bun", join(import.meta.dir, "ops.ts"), "clock:advance", "org_x", "-5d"], { stdout: "pipe", stderr: "pipe" });
    const err = await new Response(human.stderr).text();
    expect(await human.exited).toBe(1);
    expect(err).toContain("usage: bun run ops clock:advance <orgId> <duration>");
    expect(err).not.toContain("key:create");
  });

  test("usage of an org that does not exist is NOT_FOUND, not 'no subscription'", async () => {
    expect((await ops("usage", "org_nosuch")).body.error).toMatchObject({ code: "NOT_FOUND", message: "Organisation not found." });
  });

  test("bad input: an unknown command prints the usage on stderr and exits 1", async () => {
    const unknown = await opsRaw("org:delete", "org_x");
    expect(unknown.code).toBe(1);
    expect(unknown.out).toBe("");
    expect(unknown.err).toContain("usage: bun run ops <command>");
    expect(unknown.err).toContain("key:create <orgId>");
  });

  test("a key for an org that does not exist is NOT_FOUND, with no SQL or key material printed", async () => {
    const missing = await ops("key:create", "org_nope");
    expect(missing).toMatchObject({ code: 1, body: { ok: false, error: { code: "NOT_FOUND", message: "Organisation not found." } } });
    expect(missing.out + missing.err).not.toMatch(/insert|params|mk_|[0-9a-f]{64}/i);
  });
});

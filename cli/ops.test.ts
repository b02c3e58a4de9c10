// The ops CLI's contract (scripts read its JSON): each command with --json prints exactly one JSON object on
// stdout; errors exit 1 with an envelope-like object. Run as an operator would, as a process.
import { describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { join } from "node:path";
import { startBillingSystem } from "../test/billing";
import { api, rid } from "../test/factories";

const system = startBillingSystem();

async function ops(...args: string[]) {
  const proc = spawn(["bun", join(import.meta.dir, "ops.ts"), ...args, "--json"], {
    env: { ...process.env, LOG_LEVEL: "silent" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
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

    const jobs = await ops("jobs");
    expect(jobs.body).toHaveProperty("lagMs");
    expect(Array.isArray(jobs.body.failed)).toBe(true);

    const { sql } = await import("../app/server/platform/db.server");
    const [stored] = await sql<
      { id: string }[]
    >`select e.id from stripe_events e join organisations o on o.stripe_customer_id = e.customer_id where o.id = ${orgId} limit 1`;
    const replayed = await ops("replay", stored.id);
    expect(replayed.body).toMatchObject({ eventId: stored.id });

    const drift = await ops("drift");
    expect(Array.isArray(drift.body.rows)).toBe(true);

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

  test("a key for an org that does not exist is NOT_FOUND, with no SQL or key material printed", async () => {
    const missing = await ops("key:create", "org_nope");
    expect(missing).toMatchObject({ code: 1, body: { ok: false, error: { code: "NOT_FOUND", message: "Organisation not found." } } });
    expect(missing.out + missing.err).not.toMatch(/insert|params|mk_|[0-9a-f]{64}/i);
  });
});

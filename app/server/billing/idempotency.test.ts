// Keyed billing requests run once per (org, key): concurrent callers wait for the first one's
// answer, a failed run leaves the key to the next caller, and a claim left by a dead process is
// taken over once stale. Database only.
import { describe, expect, test } from "bun:test";
import { newOrg } from "../../../test/billing";
import { sql } from "../platform/db.server";
import { CLAIM_STALE_SECONDS, oncePerKey } from "./idempotency.server";

describe("oncePerKey", () => {
  test("five callers at once: the work runs once, its record is written once, all get its answer", async () => {
    const orgId = await newOrg();
    let runs = 0;
    let records = 0;
    const call = () =>
      oncePerKey(
        { orgId, key: "k-concurrent", scope: "pro" },
        async () => {
          runs++;
          await Bun.sleep(200);
          return { n: runs, at: "2026-03-01T00:00:00.000Z" };
        },
        async () => {
          records++;
        },
      );
    const answers = await Promise.all([call(), call(), call(), call(), call()]);
    expect([runs, records]).toEqual([1, 1]);
    for (const a of answers) expect(a).toEqual({ n: 1, at: "2026-03-01T00:00:00.000Z" });
    // Later: replayed from the row.
    expect(await call()).toEqual({ n: 1, at: "2026-03-01T00:00:00.000Z" });
    expect(runs).toBe(1);
  });

  test("a failed run is not remembered: a caller waiting for it then runs the work itself", async () => {
    const orgId = await newOrg();
    const req = { orgId, key: "k-fails", scope: "pro" };
    const failing = oncePerKey(req, async () => {
      await Bun.sleep(150);
      throw new Error("Stripe said no");
    });
    await Bun.sleep(30);
    const waiting = oncePerKey(req, async () => "second");
    await expect(failing).rejects.toThrow("Stripe said no");
    expect(await waiting).toBe("second");
  });

  test("the same key for another scope is IDEMPOTENCY_CONFLICT, whether answered or still running", async () => {
    const orgId = await newOrg();
    await oncePerKey({ orgId, key: "k-scope", scope: "pro" }, async () => "done");
    await expect(oncePerKey({ orgId, key: "k-scope", scope: "growth" }, async () => "other")).rejects.toMatchObject({ code: "IDEMPOTENCY_CONFLICT" });
    const slow = oncePerKey({ orgId, key: "k-scope-2", scope: "pro" }, () => Bun.sleep(200).then(() => "slow"));
    await Bun.sleep(30);
    await expect(oncePerKey({ orgId, key: "k-scope-2", scope: "growth" }, async () => "other")).rejects.toMatchObject({ code: "IDEMPOTENCY_CONFLICT" });
    expect(await slow).toBe("slow");
  });

  test("a claim whose process died is taken over once stale; a fresh one is waited for", async () => {
    const orgId = await newOrg();
    const claim = (age: number) => sql`
      insert into billing_requests (org_id, idempotency_key, plan_code, response, created_at)
      values (${orgId}, ${`k-dead-${age}`}, 'pro', '{"$claim":"gone"}'::jsonb, now() - make_interval(secs => ${age}))`;
    await claim(CLAIM_STALE_SECONDS + 1);
    expect(await oncePerKey({ orgId, key: `k-dead-${CLAIM_STALE_SECONDS + 1}`, scope: "pro" }, async () => "taken over")).toBe("taken over");
    await claim(1);
    const started = Date.now();
    await expect(oncePerKey({ orgId, key: "k-dead-1", scope: "pro" }, async () => "never")).rejects.toMatchObject({ code: "UPSTREAM_UNAVAILABLE" });
    expect(Date.now() - started).toBeGreaterThan(5_000);
  });

  test("an answer older than 24 hours is forgotten: the key runs again", async () => {
    const orgId = await newOrg();
    await sql`insert into billing_requests (org_id, idempotency_key, plan_code, response, created_at)
              values (${orgId}, 'k-old', 'pro', '"old"'::jsonb, now() - interval '25 hours')`;
    expect(await oncePerKey({ orgId, key: "k-old", scope: "growth" }, async () => "new")).toBe("new");
    expect(await oncePerKey({ orgId, key: "k-old", scope: "growth" }, async () => "again")).toBe("new");
  });
});

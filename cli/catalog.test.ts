// `bun run ops catalog:push` and `catalog:show`, run as an operator runs them (a process), against
// the local Stripe: errors named by path, the diff, a version published only on change, Stripe's
// meters and prices made before the version goes live (a changed amount is a new price).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "bun";
import Stripe from "stripe";
import { sql } from "../app/server/platform/db.server";
import type { StripeLocal } from "../stripe-emulator/index";
import { startStripeWithoutWebhooks } from "../test/billing";

let local: StripeLocal;
beforeAll(async () => {
  local = await startStripeWithoutWebhooks(); // and the default catalog published, as the app does at start
});
afterAll(async () => {
  await local.stop();
});
const stripe = new Stripe("sk_test_catalog", { host: "127.0.0.1", port: Number(process.env.STRIPE_LOCAL_PORT), protocol: "http", maxNetworkRetries: 0 });
const dir = mkdtempSync(join(tmpdir(), "catalog-"));

async function ops(...args: string[]) {
  const proc = spawn(["bun", join(import.meta.dir, "ops.ts"), ...args, "--json"], {
    env: { ...process.env, LOG_LEVEL: "silent" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const lines = out.trim().split("\n");
  expect(lines.length).toBe(1);
  return { code, body: JSON.parse(lines[0]), err };
}
const fileOf = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content, null, 2));
  return path;
};
const priceByKey = async (key: string) => (await stripe.prices.list({ lookup_keys: [key], active: true })).data[0];

describe("ops catalog:push / catalog:show", () => {
  test("show --json prints a file push accepts back: pushing it twice publishes nothing", async () => {
    const shown = await ops("catalog:show");
    expect(shown.code).toBe(0);
    expect(shown.body).toMatchObject({ version: 1, plans: { growth: { prices: { month: 9900, year: 99000 } } } });
    const path = fileOf("shown.json", shown.body);
    for (let i = 0; i < 2; i++) expect((await ops("catalog:push", path)).body).toEqual({ published: false, version: 1, changes: [] });
  });

  test("an invalid file is refused with every error named by its path, and nothing is published", async () => {
    const { body: file } = await ops("catalog:show");
    file.plans.growth.prices.month = -5;
    file.plans.pro.features.sso = { included: 3 };
    const refused = await ops("catalog:push", fileOf("bad.json", file));
    expect(refused.code).toBe(1);
    expect(refused.body.error.code).toBe("VALIDATION_FAILED");
    expect(refused.body.error.message).toContain("plans.growth.prices.month: Too small");
    expect((await ops("catalog:push", join(dir, "missing.json"))).body.error.message).toContain("cannot read");
    expect((await ops("catalog:show")).body.version).toBe(1);
  });

  test("a plan written twice in the file is refused by its path; neither is published", async () => {
    const { body: file } = await ops("catalog:show");
    const path = join(dir, "twice.json");
    // An edit left the old growth below the new one: JSON.parse alone would publish the old price.
    const text = JSON.stringify(file, null, 2).replace(
      '"plans": {',
      `"plans": {\n    "growth": ${JSON.stringify({ ...file.plans.growth, prices: { month: 12900 } })},`,
    );
    writeFileSync(path, text);
    const refused = await ops("catalog:push", path);
    expect(refused.code).toBe(1);
    expect(refused.body.error.code).toBe("VALIDATION_FAILED");
    expect(refused.body.error.message).toContain("plans.growth: is written twice in one object");
    expect((await ops("catalog:show")).body.version).toBe(1);
  });

  test("a plan in another currency than the others is refused by path; nothing reaches Stripe or is published", async () => {
    const { body: file } = await ops("catalog:show");
    file.plans.pro.currency = "eur";
    const refused = await ops("catalog:push", fileOf("eur.json", file));
    expect(refused.code).toBe(1);
    expect(refused.body.error.code).toBe("VALIDATION_FAILED");
    expect(refused.body.error.message).toContain("plans.pro.currency: every plan and top-up is sold in usd");
    expect((await ops("catalog:show")).body.version).toBe(1);
    expect((await stripe.prices.list({ limit: 100 })).data.filter((p) => p.currency === "eur")).toEqual([]);
  });

  test("a plan name with a NUL character is refused by its path before Stripe is asked", async () => {
    const { body: file } = await ops("catalog:show");
    file.plans.pro.name = "Pro\u0000";
    const refused = await ops("catalog:push", fileOf("nul.json", file));
    expect([refused.code, refused.body.error.code]).toEqual([1, "VALIDATION_FAILED"]);
    expect(refused.body.error.message).toContain("plans.pro.name: Stripe refuses the NUL character");
    expect((await ops("catalog:show")).body.version).toBe(1);
  });

  test("publishing makes Stripe's meters and prices first; a changed amount is a new price, the others stay", async () => {
    const { body: v1 } = await ops("catalog:show");
    v1.plans.pro.name = "Pro (2027)";
    const first = await ops("catalog:push", fileOf("v2.json", v1));
    expect(first.body).toEqual({ published: true, version: 2, changes: [{ path: "plans.pro.name", from: "Pro", to: "Pro (2027)" }] });
    // One meter per metered feature, event name = the feature; monthly and yearly prices per paid plan.
    const meters = (await stripe.billing.meters.list({ limit: 100 })).data.map((m) => m.event_name).sort();
    expect(meters).toEqual(["api_call", "tokens"]);
    const growthMonth = await priceByKey("metered_plan_growth");
    expect([growthMonth.unit_amount, growthMonth.recurring?.interval]).toEqual([9900, "month"]);
    const growthYear = await priceByKey("metered_plan_growth_year");
    expect([growthYear.unit_amount, growthYear.recurring?.interval]).toEqual([99000, "year"]);
    const starterMonth = await priceByKey("metered_plan_starter");

    const { body: v2 } = await ops("catalog:show");
    v2.plans.growth.prices.month = 10_900;
    const raised = await ops("catalog:push", fileOf("v3.json", v2));
    expect(raised.body).toEqual({ published: true, version: 3, changes: [{ path: "plans.growth.prices.month", from: 9900, to: 10_900 }] });
    const newGrowth = await priceByKey("metered_plan_growth");
    expect(newGrowth.id).not.toBe(growthMonth.id);
    expect(newGrowth.unit_amount).toBe(10_900);
    // Prices are immutable: the old one still bills 99.00 for its subscribers, without the lookup key.
    expect(await stripe.prices.retrieve(growthMonth.id)).toMatchObject({ unit_amount: 9900, lookup_key: null });
    expect((await priceByKey("metered_plan_growth_year")).id).toBe(growthYear.id);
    expect((await priceByKey("metered_plan_starter")).id).toBe(starterMonth.id);

    const versions = await sql<{ plan_code: string; version: number; stripe_price_month: string | null }[]>`
      select plan_code, version, stripe_price_month from plan_versions where plan_code = 'growth' order by version`;
    expect(versions.map((v) => [v.version, v.stripe_price_month])).toEqual([
      [1, null], // published at start, without Stripe
      [2, newGrowth.id],
    ]);
    // The same file again: nothing new.
    expect((await ops("catalog:push", fileOf("v3-again.json", v2))).body).toEqual({ published: false, version: 3, changes: [] });
  });

  test("a file read from an older version is refused (someone published since), naming `version`", async () => {
    const { body: current } = await ops("catalog:show");
    const old = { ...current, version: current.version - 1 };
    old.plans.starter.name = "Starter (old)";
    const refused = await ops("catalog:push", fileOf("stale.json", old));
    expect(refused.code).toBe(1);
    expect(refused.body.error.message).toContain(`version: the file was read from version ${current.version - 1}`);
  });
});

describe("bun run ops catalog:migrate and subscribe --interval", () => {
  test("bad flags are refused before anything moves; a version nobody is on moves nobody", async () => {
    const noFrom = await ops("catalog:migrate", "growth", "--to", "2");
    expect(noFrom.code).toBe(1);
    expect(noFrom.body.error).toMatchObject({ code: "VALIDATION_FAILED" });
    expect(noFrom.body.error.message).toContain("--from must be a plan version number");
    const badAt = await ops("catalog:migrate", "growth", "--from", "1", "--to", "2", "--at", "tomorrow");
    expect(badAt.body.error.message).toContain("--at is renewal or now");
    const unknown = await ops("catalog:migrate", "growth", "--from", "1", "--to", "42");
    expect(unknown.body.error.message).toContain("growth has no version 42");
    const same = await ops("catalog:migrate", "growth", "--from", "2", "--to", "2");
    expect(same.body.error.message).toContain("same version");
    const nosuch = await ops("catalog:migrate", "gold", "--from", "1", "--to", "2");
    expect(nosuch.body.error.message).toContain("unknown plan gold");
    // A refused move prints its refusal only, not "moving … subscribers" first.
    expect(same.err + nosuch.err).not.toContain("moving");

    const moved = await ops("catalog:migrate", "growth", "--from", "1", "--to", "2", "--at", "now");
    expect(moved).toMatchObject({ code: 0, body: { planCode: "growth", from: 1, to: 2, at: "now", subscribers: [], skipped: [] } });
  });

  test("subscribe --interval takes month or year, and year only for a plan with a yearly price", async () => {
    const weekly = await ops("subscribe", "org_nobody", "starter", "--interval", "weekly");
    expect(weekly.code).toBe(1);
    expect(weekly.body.error.message).toContain("--interval is month or year");
    const trial = await ops("subscribe", "org_nobody", "trial", "--interval", "year");
    expect(trial.body.error.message).toContain("has no yearly price");
  });
});

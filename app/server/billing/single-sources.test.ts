// Each of these tables has one module that writes it, and the live-status set and the plan codes
// are spelled once: a second writer or a second copy drifts from the first without anyone seeing.
// The check reads the source (not tests), so it needs no database.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Glob } from "bun";
import { isLive, LIVE_STATUSES } from "../../subscription-status";
import { DEFAULT_CATALOG } from "../platform/config.server";

const ROOT = join(import.meta.dir, "../../..");

function sources(): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const pattern of ["app/**/*.{ts,tsx}", "worker/**/*.ts", "cli/**/*.ts", "scripts/**/*.ts", "server.ts"]) {
    for (const path of new Glob(pattern).scanSync({ cwd: ROOT })) {
      if (/\.test\.tsx?$/.test(path)) continue;
      out.push({ path: relative(ROOT, join(ROOT, path)), text: readFileSync(join(ROOT, path), "utf8") });
    }
  }
  return out;
}

/** A write to the table in SQL (insert into / update / delete from / truncate) or through drizzle (`.insert(schema.x)`). */
function writes(text: string, table: string, drizzleName: string): boolean {
  const raw = new RegExp(`\\b(insert\\s+into|update|delete\\s+from|truncate(\\s+table)?)\\s+"?${table}"?(\\s|\\(|$)`, "i");
  const orm = new RegExp(`\\.(insert|update|delete)\\(\\s*(schema\\.)?${drizzleName}\\s*\\)`);
  return raw.test(text) || orm.test(text);
}

const OWNERS: { table: string; drizzleName: string; owner: string | string[] }[] = [
  { table: "subscriptions", drizzleName: "subscriptions", owner: "app/server/billing/subscriptions.server.ts" },
  { table: "organisations", drizzleName: "organisations", owner: "app/server/orgs/orgs.server.ts" },
  // Intake inserts the rows (and clears them for a replay); convergence stamps processed_at;
  // retention deletes converged ones past their period.
  {
    table: "stripe_events",
    drizzleName: "stripeEvents",
    owner: ["app/server/billing/converge-events.server.ts", "app/server/billing/webhooks.server.ts", "app/server/ops/retention.server.ts"],
  },
  // Retention deletes finished deliveries past their period; nothing else writes them.
  { table: "webhook_deliveries", drizzleName: "webhookDeliveries", owner: ["app/server/notify/deliver.server.ts", "app/server/ops/retention.server.ts"] },
  // Publishing a catalog version mirrors it; the Stripe price a plan bills is noted by plans.server.ts.
  { table: "plans", drizzleName: "plans", owner: ["app/server/billing/catalog.server.ts", "app/server/billing/plans.server.ts"] },
  { table: "plan_units", drizzleName: "planUnits", owner: "app/server/billing/catalog.server.ts" },
  { table: "catalog_versions", drizzleName: "catalogVersions", owner: "app/server/billing/catalog.server.ts" },
  { table: "plan_versions", drizzleName: "planVersions", owner: "app/server/billing/catalog.server.ts" },
  { table: "plan_version_features", drizzleName: "planVersionFeatures", owner: "app/server/billing/catalog.server.ts" },
  { table: "catalog_version_plans", drizzleName: "catalogVersionPlans", owner: "app/server/billing/catalog.server.ts" },
  { table: "features", drizzleName: "features", owner: "app/server/billing/catalog.server.ts" },
  // `used` is record_usage's (SQL); the plan units billing decides go through the usage module.
  { table: "usage_counters", drizzleName: "usageCounters", owner: "app/server/usage/counters.server.ts" },
];

describe("one writer per table", () => {
  const files = sources();
  for (const { table, drizzleName, owner } of OWNERS) {
    const owners = [owner].flat();
    test(`only ${owners.join(" and ")} write${owners.length > 1 ? "" : "s"} ${table}`, () => {
      const writers = files.filter((f) => writes(f.text, table, drizzleName)).map((f) => f.path);
      // The owner itself must be found, or the patterns no longer see writes at all.
      expect(writers.sort()).toEqual(owners);
    });
  }
});

describe("spelled once", () => {
  const files = sources();
  const quoted = (w: string) => `["']${w}["']`;
  // Any list naming all three live statuses: an array, a Set, a union, a SQL `in (...)`.
  const liveList = new RegExp(
    `[[(]\\s*(${["active", "trialing", "past_due"].map(quoted).join("|")})(\\s*[,|]\\s*(${["active", "trialing", "past_due"].map(quoted).join("|")})){2}\\s*[\\])]`,
  );
  // Plan codes written out as a list: "starter" next to "growth" in an array, enum or union.
  const planList = new RegExp(`${quoted("starter")}\\s*[,|]\\s*${quoted("growth")}`);

  test("the live statuses are listed once in TypeScript (app/subscription-status.ts) and once in SQL (is_live)", () => {
    const sqlFiles = [...new Glob("db/functions/*.sql").scanSync({ cwd: ROOT })].map((path) => ({ path, text: readFileSync(join(ROOT, path), "utf8") }));
    expect([...files, ...sqlFiles].filter((f) => liveList.test(f.text)).map((f) => f.path)).toEqual([
      "app/subscription-status.ts",
      "db/functions/02_is_live.sql",
    ]);
  });

  test("the plan codes are data (catalog/default.json): no source lists them", () => {
    expect(files.filter((f) => planList.test(f.text)).map((f) => f.path)).toEqual([]);
  });

  test("SQL text is never built from strings (docs/db.md): no unsafe or raw SQL in the app, worker, CLI or scripts", () => {
    expect(files.filter((f) => /\.(unsafe|raw)\(/.test(f.text)).map((f) => f.path)).toEqual([]);
  });

  test("the shared definitions are the ones in use", () => {
    expect(LIVE_STATUSES.filter(isLive)).toEqual([...LIVE_STATUSES]);
    for (const status of ["canceled", "unpaid", "incomplete", "incomplete_expired", "paused"]) expect(isLive(status)).toBe(false);
    // The seed's four plans stay the default catalog's.
    expect(Object.keys(DEFAULT_CATALOG.plans).sort()).toEqual(["growth", "pro", "starter", "trial"]);
  });
});

// The alerts an org sets itself, per metered feature (issue 23): the percents of the included units
// that emit usage.threshold_reached (default 80 and 100), "credits below N" (credits.low) and
// "overage above X cents" (overage.threshold_reached). record_usage decides them in the admitting
// transaction; this module only reads and changes the org's choice (usage_alerts); a trigger keeps
// subscriptions.custom_alerts (the admission's fast path for orgs on the defaults) in step.
import { sql as dsql } from "drizzle-orm";
import type { z } from "zod";
import { centsOf, dollars, wholeNumberOf } from "../api/form-fields.server";
import { MAX_ALERT_CREDITS_BELOW, MAX_ALERT_OVERAGE_CENTS, MAX_ALERT_PERCENTS, type usageAlert, usageAlertBody } from "../api/schemas.server";
import { appendAudit } from "../events/audit.server";
import { db, sql } from "../platform/db.server";
import { AppError, parseWith } from "../platform/errors.server";

export type UsageAlert = z.infer<typeof usageAlert>;
export type UsageAlertInput = z.output<typeof usageAlertBody>;

export const DEFAULT_ALERT_PERCENTS = [80, 100];

const sorted = (percents: number[]) => [...percents].sort((a, b) => a - b);

/** One entry per metered feature of the catalog: the org's own alerts, or the defaults. */
export async function usageAlertsOf(orgId: string): Promise<UsageAlert[]> {
  const rows = await sql<{ metric: string; percents: number[] | null; credits_below: string | null; overage_above_cents: string | null }[]>`
    select feature.code as metric, alert.percents, alert.credits_below::text, alert.overage_above_cents::text
      from features feature
      left join usage_alerts alert on alert.org_id = ${orgId} and alert.metric = feature.code
     where feature.type = 'metered'
     order by feature.code`;
  return rows.map((row) => ({
    metric: row.metric,
    percents: row.percents ? sorted(row.percents) : DEFAULT_ALERT_PERCENTS,
    creditsBelow: row.credits_below === null ? null : Number(row.credits_below),
    overageAboveCents: row.overage_above_cents === null ? null : Number(row.overage_above_cents),
    custom: row.percents !== null,
  }));
}

/**
 * Sets one feature's alerts (a feature the catalog does not meter is bad input), audit-logged with
 * the previous ones in the same transaction. Setting exactly the defaults removes the row, so the
 * org goes back to the admission's fast path once no feature has alerts of its own.
 */
export async function setUsageAlert(orgId: string, input: UsageAlertInput): Promise<UsageAlert[]> {
  const [feature] = await sql<{ code: string }[]>`select code from features where code = ${input.metric} and type = 'metered'`;
  if (!feature) {
    throw new AppError("VALIDATION_FAILED", `Invalid input: metric: "${input.metric}" is not a metered feature of the catalog`, {
      issues: [{ path: "metric", message: "not a metered feature of the catalog" }],
    });
  }
  const percents = sorted(input.percents);
  const isDefault = percents.join(",") === DEFAULT_ALERT_PERCENTS.join(",") && input.creditsBelow === null && input.overageAboveCents === null;
  await db.transaction(async (tx) => {
    // The subscription row first: record_usage takes the same lock, so the flag and the alerts
    // change between two admissions, never in the middle of one.
    await tx.execute(dsql`select 1 from subscriptions where org_id = ${orgId} for no key update`);
    const previous = await tx.execute<{ percents: number[]; credits_below: string | null; overage_above_cents: string | null }>(
      dsql`select percents, credits_below::text, overage_above_cents::text from usage_alerts where org_id = ${orgId} and metric = ${input.metric}`,
    );
    if (isDefault) {
      await tx.execute(dsql`delete from usage_alerts where org_id = ${orgId} and metric = ${input.metric}`);
    } else {
      await tx.execute(dsql`
        insert into usage_alerts (org_id, metric, percents, credits_below, overage_above_cents, updated_at)
        values (${orgId}, ${input.metric}, ${`{${percents.join(",")}}`}::int[], ${input.creditsBelow}, ${input.overageAboveCents}, now())
        on conflict (org_id, metric) do update
          set percents = excluded.percents, credits_below = excluded.credits_below,
              overage_above_cents = excluded.overage_above_cents, updated_at = excluded.updated_at`);
    }
    const before = previous[0];
    await appendAudit(
      {
        orgId,
        action: "usage_alerts.updated",
        target: input.metric,
        details: {
          percents,
          creditsBelow: input.creditsBelow,
          overageAboveCents: input.overageAboveCents,
          previous: before
            ? {
                percents: sorted(before.percents),
                creditsBelow: before.credits_below === null ? null : Number(before.credits_below),
                overageAboveCents: before.overage_above_cents === null ? null : Number(before.overage_above_cents),
              }
            : "default",
        },
      },
      tx,
    );
  });
  return usageAlertsOf(orgId);
}

/**
 * The settings page's form of one feature's alerts: `percents` as a list ("50, 80, 100"; empty:
 * none), `creditsBelow` in units and `overageAbove` in dollars (each empty: none). What does not
 * parse is VALIDATION_FAILED, as the API answers it.
 */
export function usageAlertFromForm(form: FormData): UsageAlertInput {
  const text = (name: string) => String(form.get(name) ?? "").trim();
  const percents = text("percents")
    .split(/[\s,;%]+/)
    .filter(Boolean)
    .map((p) => (/^\d+$/.test(p) ? Number(p) : Number.NaN));
  const credits = text("creditsBelow");
  const overage = text("overageAbove");
  return parseWith(
    usageAlertBody,
    {
      metric: text("metric"),
      percents,
      creditsBelow: credits === "" ? null : wholeNumberOf(credits),
      overageAboveCents: overage === "" ? null : centsOf(overage),
    },
    {
      metric: "Pick a metered feature.",
      percents: `Give up to ${MAX_ALERT_PERCENTS} percents, each a whole number from 1 to 1,000 given once (for example 50, 80, 100), or none.`,
      creditsBelow: `Enter the credits alert as a whole number from 1 to ${MAX_ALERT_CREDITS_BELOW.toLocaleString("en-US")}, or leave it empty.`,
      overageAboveCents: `Enter the overage alert in dollars, from $0 to ${dollars(MAX_ALERT_OVERAGE_CENTS)} (for example 250 or 1,000.50), or leave it empty.`,
    },
  );
}

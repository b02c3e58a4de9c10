// The org's monthly overage cap and its auto top-up settings (issue 23), as the billing routes
// read and change them. The admission (record_usage) reads both itself, under the org's lock, only
// when a request goes past the included units; a change here applies to the next admission.
import { sql as dsql } from "drizzle-orm";
import type { z } from "zod";
import { centsOf, dollars } from "../api/form-fields.server";
import { type autoTopUpBody, type autoTopUpSetting, MAX_SPEND_CAP_CENTS, type spendCap, spendCapBody } from "../api/schemas.server";
import { appendAudit } from "../events/audit.server";
import { config } from "../platform/config.server";
import { db, sql } from "../platform/db.server";
import { AppError, parseWith } from "../platform/errors.server";
import { activeCatalog } from "./plans.server";

const GRACE = `${config.PAST_DUE_GRACE_DAYS} days`;

export type SpendCap = z.infer<typeof spendCap>;
export type AutoTopUpSetting = z.infer<typeof autoTopUpSetting>;

/**
 * The cap in force (the one chosen, else the default: the monthly price of the period's plan),
 * and the org's overage charge so far this period (spend_cap_of, the admission's own reading).
 */
export async function spendCapOf(orgId: string): Promise<SpendCap> {
  const [row] = await sql<{ cap_cents: number | null; capped: boolean; other_cents: number; currency: string | null }[]>`
    select cap.cap_cents, cap.capped, cap.other_cents, plan.currency
      from subscriptions subscription
     cross join lateral org_period(subscription, now(), ${GRACE}::interval) period
     cross join lateral spend_cap_of(subscription.org_id, period.plan_code, period.period_start, null) cap
      left join plans plan on plan.code = period.plan_code
     where subscription.org_id = ${orgId}`;
  const [chosen] = await sql<{ amount_cents: number | null }[]>`select amount_cents from org_spend_caps where org_id = ${orgId}`;
  if (!row) {
    // No subscription yet: no period, no overage; the default follows the plan it will have.
    return { amountCents: chosen ? chosen.amount_cents : 0, chosen: chosen !== undefined, overageCents: 0, currency: "usd" };
  }
  return {
    amountCents: row.capped ? row.cap_cents : null,
    chosen: chosen !== undefined,
    overageCents: row.other_cents,
    currency: row.currency ?? "usd",
  };
}

/** Sets the org's cap (null: none), audit-logged with the previous one in the same transaction. */
export async function setSpendCap(orgId: string, amountCents: number | null): Promise<SpendCap> {
  await db.transaction(async (tx) => {
    const previous = await tx.execute<{ amount_cents: number | null }>(dsql`select amount_cents from org_spend_caps where org_id = ${orgId} for update`);
    await tx.execute(dsql`
      insert into org_spend_caps (org_id, amount_cents, updated_at) values (${orgId}, ${amountCents}, now())
      on conflict (org_id) do update set amount_cents = excluded.amount_cents, updated_at = excluded.updated_at`);
    const before = previous[0];
    await appendAudit(
      {
        orgId,
        action: "spend_cap.updated",
        details: { amountCents, previous: before ? before.amount_cents : "default" },
      },
      tx,
    );
  });
  return spendCapOf(orgId);
}

/** The org's auto top-up settings, one per metric it set, with the catalog's pack of each. */
export async function autoTopUpSettingsOf(orgId: string): Promise<AutoTopUpSetting[]> {
  const rows = await sql<{ metric: string; below: number; packs: number; enabled: boolean; updated_ms: number }[]>`
    select metric, below, packs, enabled, (extract(epoch from updated_at) * 1000)::float8 as updated_ms
      from auto_top_up_settings where org_id = ${orgId} order by metric`;
  const topUps = activeCatalog().catalog.topUps;
  return rows.map((row) => ({
    metric: row.metric,
    below: row.below,
    packs: row.packs,
    enabled: row.enabled,
    packUnits: topUps[row.metric]?.units ?? 0,
    packPriceCents: topUps[row.metric]?.priceCents ?? 0,
    updatedAt: new Date(row.updated_ms).toISOString(),
  }));
}

/** Sets one metric's auto top-up; a metric the catalog sells no top-up of is bad input. Audit-logged. */
export async function setAutoTopUp(orgId: string, input: z.output<typeof autoTopUpBody>): Promise<AutoTopUpSetting[]> {
  if (!activeCatalog().catalog.topUps[input.metric]) {
    throw new AppError("VALIDATION_FAILED", `Invalid input: metric: the catalog sells no top-up of "${input.metric}"`, {
      issues: [{ path: "metric", message: "the catalog sells no top-up of this metric" }],
    });
  }
  await db.transaction(async (tx) => {
    await tx.execute(dsql`
      insert into auto_top_up_settings (org_id, metric, below, packs, enabled, updated_at)
      values (${orgId}, ${input.metric}, ${input.below}, ${input.packs}, ${input.enabled}, now())
      on conflict (org_id, metric) do update
        set below = excluded.below, packs = excluded.packs, enabled = excluded.enabled, updated_at = excluded.updated_at`);
    await appendAudit({ orgId, action: "auto_top_up.updated", target: input.metric, details: { ...input } }, tx);
  });
  return autoTopUpSettingsOf(orgId);
}

/**
 * The billing page's spend-cap form: `amount` in dollars ("250", "250.00", "$1,000.50"), or `noCap`
 * ticked for none. Parsed with the API's own schema, so the page and PUT /api/v1/billing/spend-cap
 * refuse the same inputs (VALIDATION_FAILED), the page in dollars.
 */
export function spendCapFromForm(form: FormData): number | null {
  if (form.get("noCap") === "on") return null;
  const words = `Enter the cap in dollars, from $0 to ${dollars(MAX_SPEND_CAP_CENTS)} (for example 250 or 1,000.50), or tick No cap.`;
  return parseWith(spendCapBody, { amountCents: centsOf(String(form.get("amount") ?? "")) }, { amountCents: words }).amountCents;
}

// The overage rule of docs/api.md ("Overage"), in one place: the cents a period's overage of a
// feature costs, as Stripe bills it (a graduated price whose first tier is the included units at
// 0, then priceCents/per cents per unit, the line rounded to the cent half up), and the portal's
// projection of it to the period's end. Exact: integer arithmetic, no floating point in the money.
// The admission's SQL applies the same rule (db/functions/02_overage_charge_cents.sql; a test
// holds the two equal).

export type OveragePrice = { priceCents: number; per: number };

/** round_half_up(units × priceCents / per), in cents; units ≤ 0 cost nothing. */
export function overageCents(units: number, price: OveragePrice): number {
  if (units <= 0) return 0;
  const numerator = BigInt(units) * BigInt(price.priceCents);
  const per = BigInt(price.per);
  return Number((2n * numerator + per) / (2n * per));
}

/** The same rule with the price's two numbers apart (the admission's answers and tests). */
export const overageChargeCents = (units: number, priceCents: number, per: number) => overageCents(units, { priceCents, per });

/**
 * Whether one more overage unit of a feature keeps the org's period overage charge within its cap
 * (beyond_included_given's test, db/functions/03_beyond_included_given.sql): `orgCents` is the
 * org's charge so far over every feature, `unitsSoFar` this feature's overage units. A cap of 0
 * sells no overage at all, not even a unit whose charge rounds to 0 ¢; no cap (null) sells any.
 */
export function oneMoreOverageUnitFits(cap: { capCents: number | null; orgCents: number }, unitsSoFar: number, price: OveragePrice): boolean {
  if (cap.capCents === null) return true;
  if (cap.capCents <= 0) return false;
  return cap.orgCents - overageCents(unitsSoFar, price) + overageCents(unitsSoFar + 1, price) <= cap.capCents;
}

/** Units past the included ones (never negative). `billable` is what the period counts for billing. */
export const overageUnits = (billable: number, included: number) => Math.max(0, billable - included);

const DAY_MS = 86_400_000;

/**
 * The overage so far and, at the period's average rate so far (linear in elapsed time, at least
 * one day of history so a first-minute burst is not extrapolated to a month), the overage by the
 * period's end, both by the rule above.
 */
export function overageOutlook(input: { billable: number; included: number; price: OveragePrice; periodStart: string; periodEnd: string; now: number }) {
  const start = Date.parse(input.periodStart);
  const end = Date.parse(input.periodEnd);
  const units = overageUnits(input.billable, input.included);
  const elapsed = Math.min(end - start, Math.max(input.now - start, DAY_MS));
  const projectedBillable = elapsed > 0 ? Math.round((input.billable * (end - start)) / elapsed) : input.billable;
  const projectedUnits = overageUnits(Math.max(projectedBillable, input.billable), input.included);
  return {
    units,
    cents: overageCents(units, input.price),
    projectedUnits,
    projectedCents: overageCents(projectedUnits, input.price),
  };
}

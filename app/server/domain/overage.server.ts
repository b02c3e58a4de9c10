// The overage charge's rounding rule, the same as db/functions/02_overage_charge_cents.sql (a test
// holds the two equal): round_half_up(units × priceCents / per) cents, as Stripe rounds a graduated
// tier priced with unit_amount_decimal. In BigInt, so no product loses a digit.

/** The overage charge of `units` at `priceCents` per `per` units, in cents, rounded half up. */
export function overageChargeCents(units: number, priceCents: number, per: number): number {
  const [u, p, n] = [BigInt(units), BigInt(priceCents), BigInt(per)];
  return Number((2n * u * p + n) / (2n * n));
}

// Tiered prices as Stripe documents them: `billing_scheme=tiered` with `tiers_mode` graduated or
// volume and `tiers[]` (each `up_to` a whole number above the previous one, the last `inf`), and
// what a metered quantity costs through them. Decimal amounts (`unit_amount_decimal`, at most 12
// decimal places) are computed exactly and rounded to the cent on each invoice line, half up:
// Stripe's "Decimal amounts" guide, "0.05 * 30 = 1.5, which is then rounded up to 2 cents".
import type Stripe from "stripe";
import { invalid, StripeError } from "./account";
import { arr, type FormValue, obj, str } from "./form";

/** A tier as stored: amounts in millionths-of-a-millionth of a cent (10^-12), so any decimal Stripe takes is exact. */
export type StoredTier = { upTo: number | null; unit: string; flat: string | null };
/** What the emulator keeps beside a tiered price (Stripe answers `tiers` only when expanded). */
export type PriceTiers = { id: string; object: "emulator_price_tiers"; mode: "graduated" | "volume"; tiers: StoredTier[] };

const SCALE = 10n ** 12n;
const DECIMAL = /^\d+(\.\d{1,12})?$/;

export const tiersKey = (priceId: string) => `tiers_${priceId}`;

const exclusive = (a: string, b: string, param: string) =>
  new StripeError(400, "invalid_request_error", `You may only specify one of these parameters: ${a}, ${b}.`, {
    code: "parameters_exclusive",
    param,
  });

/** A decimal amount in cents (a string with at most 12 decimal places), scaled by 10^12. */
export function parseDecimal(value: string, param: string): bigint {
  if (!DECIMAL.test(value)) throw invalid(`Invalid decimal: ${value}. Decimals may have at most 12 decimal places.`, param);
  const [whole, fraction = ""] = value.split(".");
  return BigInt(whole) * SCALE + BigInt(fraction.padEnd(12, "0"));
}

/** An amount given as `name` (whole cents) or `name_decimal`, never both; undefined when neither. */
function amountOf(raw: Record<string, FormValue>, name: string, prefix: string): bigint | undefined {
  const whole = str(raw[name]);
  const decimal = str(raw[`${name}_decimal`]);
  const at = (key: string) => (prefix ? `${prefix}[${key}]` : key);
  if (whole !== undefined && decimal !== undefined) throw exclusive(name, `${name}_decimal`, at(name));
  if (whole !== undefined) return BigInt(whole) * SCALE;
  if (decimal !== undefined) return parseDecimal(decimal, at(`${name}_decimal`));
  return undefined;
}

/** The per-unit amount of a per_unit price: `unit_amount` or `unit_amount_decimal`, never both. */
export const unitAmountOf = (p: Record<string, FormValue>): bigint | undefined => amountOf(p, "unit_amount", "");

/**
 * The tiers of a price being created, validated as Stripe validates them: tiers and tiers_mode
 * only with billing_scheme=tiered (and both required then), no unit_amount beside them, each
 * tier's up_to a whole number greater than the previous one, the last one `inf`, each tier
 * priced by unit and/or flat amount (one of each form at most).
 */
export function parseTiers(p: Record<string, FormValue>): Omit<PriceTiers, "id" | "object"> | null {
  const scheme = str(p.billing_scheme) ?? "per_unit";
  const given = p.tiers !== undefined ? arr(p.tiers).map((t) => obj(t)) : null;
  if (scheme !== "tiered") {
    if (given) throw invalid("Tiers may only be specified when billing_scheme is `tiered`.", "tiers");
    if (p.tiers_mode !== undefined) throw invalid("tiers_mode may only be specified when billing_scheme is `tiered`.", "tiers_mode");
    return null;
  }
  if (p.unit_amount !== undefined || p.unit_amount_decimal !== undefined)
    throw invalid(
      "unit_amount may not be specified when billing_scheme is `tiered`. Use tiers instead.",
      p.unit_amount !== undefined ? "unit_amount" : "unit_amount_decimal",
    );
  const mode = str(p.tiers_mode);
  if (!mode) throw invalid("Missing required param: tiers_mode.", "tiers_mode");
  if (!given || given.length === 0) throw invalid("Missing required param: tiers.", "tiers");
  const tiers: StoredTier[] = [];
  let previous = 0;
  for (const [i, raw] of given.entries()) {
    const prefix = `tiers[${i}]`;
    const last = i === given.length - 1;
    const upTo = str(raw.up_to);
    if (upTo === undefined) throw invalid(`Missing required param: ${prefix}[up_to].`, `${prefix}[up_to]`);
    let bound: number | null;
    if (upTo === "inf") {
      if (!last) throw invalid("Only the last tier may have up_to set to `inf`.", `${prefix}[up_to]`);
      bound = null;
    } else {
      if (!/^\d+$/.test(upTo) || Number(upTo) < 1) throw invalid(`Invalid integer: ${upTo}`, `${prefix}[up_to]`);
      if (last) throw invalid("The last tier must have up_to set to `inf`.", `${prefix}[up_to]`);
      bound = Number(upTo);
      if (bound <= previous) throw invalid("Each tier's up_to must be greater than the previous tier's up_to.", `${prefix}[up_to]`);
      previous = bound;
    }
    const unit = amountOf(raw, "unit_amount", prefix);
    const flat = amountOf(raw, "flat_amount", prefix);
    if (unit === undefined && flat === undefined)
      throw invalid(`Each tier needs a unit_amount or a flat_amount: ${prefix} has neither.`, `${prefix}[unit_amount]`);
    tiers.push({ upTo: bound, unit: String(unit ?? 0n), flat: flat === undefined ? null : String(flat) });
  }
  return { mode: mode as "graduated" | "volume", tiers };
}

/** A scaled amount as Stripe writes a decimal: "0.05", "12", "0.000125". */
export function decimalString(scaled: bigint): string {
  const whole = scaled / SCALE;
  const fraction = (scaled % SCALE).toString().padStart(12, "0").replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : String(whole);
}

/** Rounds a scaled amount to whole cents, half up (non-negative amounts only). */
export const roundCents = (scaled: bigint): number => Number((scaled + SCALE / 2n) / SCALE);

/** The scaled amount in whole cents when it is one, else null (Stripe then answers `unit_amount: null`). */
export const wholeCents = (scaled: bigint): number | null => (scaled % SCALE === 0n ? Number(scaled / SCALE) : null);

/** A tier in Stripe's answer shape. */
export function publicTier(t: StoredTier): Stripe.Price.Tier {
  return {
    flat_amount: t.flat === null ? null : wholeCents(BigInt(t.flat)),
    flat_amount_decimal: t.flat === null ? null : (decimalString(BigInt(t.flat)) as unknown as Stripe.Decimal),
    unit_amount: wholeCents(BigInt(t.unit)),
    unit_amount_decimal: decimalString(BigInt(t.unit)) as unknown as Stripe.Decimal,
    up_to: t.upTo,
  };
}

/** One invoice line's worth of a tiered charge: the tier (1-based), its units, its unit amount and its amount in cents. */
export type TierCharge = { tier: number; quantity: number; unit: bigint; amount: number };

/**
 * What `quantity` units cost through the tiers, a line per tier as Stripe invoices them: graduated
 * bills each tier's share of the units at that tier's price (a line for every tier reached, the
 * first one even at zero units), volume bills every unit at the price of the tier the total
 * falls in. Each line is rounded to the cent on its own.
 */
export function tierCharges(t: Pick<PriceTiers, "mode" | "tiers">, quantity: number): TierCharge[] {
  const total = Math.max(0, quantity);
  if (t.mode === "volume") {
    const i = t.tiers.findIndex((x) => x.upTo === null || total <= x.upTo);
    const tier = t.tiers[i];
    return [{ tier: i + 1, quantity: total, unit: BigInt(tier.unit), amount: roundCents(BigInt(total) * BigInt(tier.unit) + BigInt(tier.flat ?? 0)) }];
  }
  const charges: TierCharge[] = [];
  let lower = 0;
  for (const [i, tier] of t.tiers.entries()) {
    const upper = tier.upTo ?? Number.POSITIVE_INFINITY;
    const units = Math.max(0, Math.min(total, upper) - lower);
    if (units > 0 || i === 0)
      charges.push({
        tier: i + 1,
        quantity: units,
        unit: BigInt(tier.unit),
        amount: roundCents(BigInt(units) * BigInt(tier.unit) + (units > 0 ? BigInt(tier.flat ?? 0) : 0n)),
      });
    if (total <= upper) break;
    lower = upper;
  }
  return charges;
}

-- The overage charge of a feature for a period, in cents: round_half_up(units × price / per), as
-- Stripe rounds a graduated tier priced with unit_amount_decimal (price / per cents a unit) once
-- per invoice line. Integer arithmetic only: floor((2 × units × price + per) / (2 × per)) is the
-- half-up rounding of units × price / per for units, price ≥ 0 and per > 0 (docs/api.md, "Overage").
CREATE OR REPLACE FUNCTION overage_charge_cents(p_units bigint, p_price_cents int, p_per int)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (2 * p_units * p_price_cents + p_per) / (2 * p_per::bigint)
$$;

-- The most overage units whose charge (overage_charge_cents) stays within p_cents: the largest x
-- with floor((2·x·price + per) / (2·per)) <= p_cents, i.e. 2·x·price < per·(2·p_cents + 1), so
-- x = floor((per·(2·p_cents + 1) - 1) / (2·price)). -1 when even no unit fits (p_cents < 0); NULL
-- when the price is 0 (any number fits).
CREATE OR REPLACE FUNCTION overage_units_within(p_cents bigint, p_price_cents int, p_per int)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN p_price_cents = 0 THEN NULL
              WHEN p_cents < 0 THEN -1
              ELSE (p_per::bigint * (2 * p_cents + 1) - 1) / (2 * p_price_cents::bigint) END
$$;

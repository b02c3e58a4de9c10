-- The decision of beyond_included (04_beyond_included.sql) from what it is given, reading nothing:
-- how a request the included units do not cover is admitted (from the included units left, then
-- credits, then overage under the cap) or refused. record_usage reads the credits and the cap once
-- per counter of its batch and asks this per request.
CREATE OR REPLACE FUNCTION beyond_included_given(p_quantity bigint, p_included_left bigint,
                                                 p_credits_now bigint, p_overage_used bigint,
                                                 p_price_cents int, p_per int,
                                                 p_capped boolean, p_cap_cents bigint,
                                                 p_other_cents bigint, p_other_pending_cents bigint,
                                                 OUT refusal text, OUT credit_units bigint,
                                                 OUT overage_units bigint, OUT credits_left bigint,
                                                 OUT cap_cents bigint, OUT overage_cents bigint,
                                                 OUT room bigint)
LANGUAGE plpgsql IMMUTABLE AS $$
-- p_credits_now: the credits left (written grants minus what the caller spent in memory);
-- p_capped, p_cap_cents, p_other_cents: spend_cap_of's answer (read only with an overage price),
-- p_other_cents already counting p_other_pending_cents.
DECLARE
  unbounded constant bigint := 9007199254740991;
  included_left bigint := greatest(p_included_left, 0);
  from_included bigint := least(p_quantity, greatest(p_included_left, 0));
  overage_after bigint := p_overage_used;
  overage_room bigint;
BEGIN
  credit_units := least(p_quantity - from_included, p_credits_now);
  overage_units := p_quantity - from_included - credit_units;
  IF p_price_cents IS NULL THEN
    IF overage_units > 0 THEN
      refusal := 'quota';
      credit_units := 0; overage_units := 0;
    ELSE
      included_left := included_left - from_included;
    END IF;
    credits_left := p_credits_now - credit_units;
    room := included_left + credits_left;
    RETURN;
  END IF;

  cap_cents := CASE WHEN p_capped THEN p_cap_cents END;
  -- A cap of 0 sells no overage at all, not even the units whose charge rounds to 0 ¢.
  IF overage_units > 0 AND p_capped
     AND (p_cap_cents <= 0
          OR p_other_cents + overage_charge_cents(p_overage_used + overage_units, p_price_cents, p_per) > p_cap_cents) THEN
    refusal := 'spend_cap';
    credit_units := 0; overage_units := 0;
  ELSE
    included_left := included_left - from_included;
    overage_after := p_overage_used + overage_units;
  END IF;
  credits_left := p_credits_now - credit_units;
  -- Refused, the charge so far (without the other parts still pending); admitted, with them.
  overage_cents := p_other_cents + overage_charge_cents(overage_after, p_price_cents, p_per)
                   - CASE WHEN refusal IS NULL THEN 0 ELSE p_other_pending_cents END;
  overage_room := CASE WHEN NOT p_capped THEN NULL
                       WHEN p_cap_cents <= 0 THEN 0
                       ELSE overage_units_within(p_cap_cents - p_other_cents, p_price_cents, p_per) END;
  IF overage_room IS NULL THEN
    room := unbounded;
  ELSE
    room := least(unbounded, included_left + credits_left + greatest(overage_room - overage_after, 0));
  END IF;
END $$;

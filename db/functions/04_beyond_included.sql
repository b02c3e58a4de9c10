-- How a request the included units do not cover would be admitted (record_usage, under the org's
-- subscription lock) or refused (deny_or_replay, from a plain read): the order of spending is the
-- included units left, then the org's prepaid credits of the feature (unexpired credit_grants),
-- then overage when the counter carries an overage price and the org's spend cap allows. Whole or
-- nothing: a refused request spends nothing.
--   p_included_left: included units not yet spent (included - (used - credit_used - overage_used));
--   p_credits_pending: credits the caller has spent in memory but not yet written to credit_grants;
--   p_overage_used, p_price_cents, p_per: the counter's overage so far and its price (NULL: none);
--   p_other_pending_cents: overage charge of the org's other features the caller holds but has not
--   written (the other parts of a request of several features, record_usage_parts), 0 otherwise.
-- Out: refusal NULL (admitted) | 'quota' | 'spend_cap'; the request's credit and overage units
-- (0 when refused); the credits left and the org's period overage charge after the answer (with
-- p_other_pending_cents when admitted; refused, only what is written); the
-- cap (NULL: none); room, the units one more request could still get after the answer
-- (9007199254740991 when nothing bounds it).
-- Called only when the included units do not cover a request, so plans without overage or
-- credits pay one probe of credit_grants_spendable_idx, on a denial only.
CREATE OR REPLACE FUNCTION beyond_included(p_org text, p_metric text, p_plan_code text,
                                           p_period_start timestamptz, p_now timestamptz,
                                           p_quantity bigint, p_included_left bigint,
                                           p_credits_pending bigint, p_overage_used bigint,
                                           p_price_cents int, p_per int,
                                           p_other_pending_cents bigint,
                                           OUT refusal text, OUT credit_units bigint,
                                           OUT overage_units bigint, OUT credits_left bigint,
                                           OUT cap_cents bigint, OUT overage_cents bigint,
                                           OUT room bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  unbounded constant bigint := 9007199254740991;
  included_left bigint := greatest(p_included_left, 0);
  from_included bigint := least(p_quantity, greatest(p_included_left, 0));
  credits_now bigint;
  cap record;
  overage_after bigint := p_overage_used;
  overage_room bigint;
BEGIN
  SELECT coalesce(sum(grant_row.remaining), 0) - p_credits_pending INTO credits_now
    FROM credit_grants grant_row
   WHERE grant_row.org_id = p_org AND grant_row.metric = p_metric
     AND grant_row.remaining > 0 AND grant_row.expires_at > p_now;
  credit_units := least(p_quantity - from_included, credits_now);
  overage_units := p_quantity - from_included - credit_units;
  IF p_price_cents IS NULL THEN
    IF overage_units > 0 THEN
      refusal := 'quota';
      credit_units := 0; overage_units := 0;
    ELSE
      included_left := included_left - from_included;
    END IF;
    credits_left := credits_now - credit_units;
    room := included_left + credits_left;
    RETURN;
  END IF;

  cap := spend_cap_of(p_org, p_plan_code, p_period_start, p_metric);
  cap.other_cents := cap.other_cents + p_other_pending_cents;
  cap_cents := CASE WHEN cap.capped THEN cap.cap_cents END;
  IF overage_units > 0 AND cap.capped
     AND cap.other_cents + overage_charge_cents(p_overage_used + overage_units, p_price_cents, p_per) > cap.cap_cents THEN
    refusal := 'spend_cap';
    credit_units := 0; overage_units := 0;
  ELSE
    included_left := included_left - from_included;
    overage_after := p_overage_used + overage_units;
  END IF;
  credits_left := credits_now - credit_units;
  -- Refused, the charge so far (without the other parts still pending); admitted, with them.
  overage_cents := cap.other_cents + overage_charge_cents(overage_after, p_price_cents, p_per)
                   - CASE WHEN refusal IS NULL THEN 0 ELSE p_other_pending_cents END;
  overage_room := CASE WHEN cap.capped
                       THEN overage_units_within(cap.cap_cents - cap.other_cents, p_price_cents, p_per) END;
  IF overage_room IS NULL THEN
    room := unbounded;
  ELSE
    room := least(unbounded, included_left + credits_left + greatest(overage_room - overage_after, 0));
  END IF;
END $$;

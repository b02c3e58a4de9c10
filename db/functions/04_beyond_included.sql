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
-- beyond_included reads the credits and the cap and asks beyond_included_given, which decides from
-- what it is given and reads nothing: record_usage reads the two once per counter of its batch
-- (under the org's lock nothing else spends them) and asks beyond_included_given per request, so
-- a batch of overage admissions pays one read of each, not one per request.
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
  cap record;
  decided record;
BEGIN
  IF p_price_cents IS NOT NULL THEN
    cap := spend_cap_of(p_org, p_plan_code, p_period_start, p_metric);
  ELSE
    SELECT false AS capped, NULL::bigint AS cap_cents, 0::bigint AS other_cents INTO cap;
  END IF;
  decided := beyond_included_given(p_quantity, p_included_left, credits_of(p_org, p_metric, p_now) - p_credits_pending,
                                   p_overage_used, p_price_cents, p_per, cap.capped, cap.cap_cents,
                                   cap.other_cents + p_other_pending_cents, p_other_pending_cents);
  refusal := decided.refusal; credit_units := decided.credit_units; overage_units := decided.overage_units;
  credits_left := decided.credits_left; cap_cents := decided.cap_cents; overage_cents := decided.overage_cents;
  room := decided.room;
END $$;

-- The quota of one org and metric, read-only (the hot path's quota check). Returns no row when
-- the org has no subscription. A period with no counter yet has used 0 and the units of the
-- subscriber's plan version (included_units); when the plan grants no such metered feature,
-- included is NULL, and used is NULL too when the catalog has no such metered feature (the
-- output columns stay those every released app reads; columns are only added).
-- Past the included units (issue 23): the counter's credit and overage units and its overage price
-- (NULL: none sold), the org's unexpired credits of the metric (one probe of the partial index of
-- spendable grants, made only for an org that was ever granted credits: subscriptions.has_credits), and, only when overage is sold and
-- the included units and credits are spent, the spend cap and the org's period overage charge
-- (spend_cap_of; NULL otherwise).
CREATE OR REPLACE FUNCTION quota_of(p_org text, p_metric text, p_grace interval)
RETURNS TABLE(plan_code text, status text, live boolean, period_start timestamptz,
              period_end timestamptz, used bigint, included bigint, credit_used bigint,
              overage_used bigint, overage_price_cents int, overage_per int, credits_left bigint,
              cap_cents bigint, capped boolean, org_overage_cents bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
  subscription subscriptions;
  current_period record;
  cap record;
BEGIN
  SELECT * INTO subscription FROM subscriptions WHERE org_id = p_org;
  IF NOT FOUND THEN RETURN; END IF;
  current_period := org_period(subscription, now(), p_grace);
  plan_code := current_period.plan_code; status := current_period.status; live := current_period.live;
  period_start := current_period.period_start; period_end := current_period.period_end;
  -- The counter, and the org's unexpired credits only when it was ever granted some
  -- (subscriptions.has_credits): a probe of credit_grants on every check cost a quarter of it.
  IF subscription.has_credits THEN
    SELECT counter.used, counter.included, counter.credit_used, counter.overage_used,
           counter.overage_price_cents, counter.overage_per,
           (SELECT coalesce(sum(grant_row.remaining), 0) FROM credit_grants grant_row
             WHERE grant_row.org_id = p_org AND grant_row.metric = p_metric
               AND grant_row.remaining > 0 AND grant_row.expires_at > now())
      INTO used, included, credit_used, overage_used, overage_price_cents, overage_per, credits_left
      FROM (SELECT 1) one
      LEFT JOIN usage_counters counter
             ON counter.org_id = p_org AND counter.metric = p_metric
            AND counter.period_start = current_period.period_start;
  ELSE
    SELECT counter.used, counter.included, counter.credit_used, counter.overage_used,
           counter.overage_price_cents, counter.overage_per
      INTO used, included, credit_used, overage_used, overage_price_cents, overage_per
      FROM usage_counters counter
     WHERE counter.org_id = p_org AND counter.metric = p_metric
       AND counter.period_start = current_period.period_start;
    credits_left := 0;
  END IF;
  IF used IS NULL THEN
    used := 0; credit_used := 0; overage_used := 0;
    -- The units and overage price a new counter would start with (included_units and
    -- overage_price_of, written out as one statement: two function calls here cost a quarter of
    -- the check on a plan that sells overage).
    IF current_period.plan_code = subscription.plan_code AND subscription.plan_version IS NOT NULL THEN
      SELECT version_feature.included, version_feature.overage_price_cents, version_feature.overage_per
        INTO included, overage_price_cents, overage_per
        FROM plan_version_features version_feature
       WHERE version_feature.plan_code = current_period.plan_code
         AND version_feature.version = subscription.plan_version AND version_feature.feature = p_metric;
    ELSE
      SELECT plan_unit.included, newest.overage_price_cents, newest.overage_per
        INTO included, overage_price_cents, overage_per
        FROM plan_units plan_unit
        LEFT JOIN LATERAL (SELECT version_feature.overage_price_cents, version_feature.overage_per
                             FROM plan_version_features version_feature
                            WHERE version_feature.plan_code = plan_unit.plan_code
                              AND version_feature.feature = plan_unit.metric
                            ORDER BY version_feature.version DESC LIMIT 1) newest ON true
       WHERE plan_unit.plan_code = current_period.plan_code AND plan_unit.metric = p_metric;
    END IF;
    -- overage_price_of's rule: sold on monthly prices only, with a usable per
    IF subscription.billing_interval IS DISTINCT FROM 'month' OR overage_price_cents IS NULL
       OR overage_per IS NULL OR overage_per <= 0 THEN
      overage_price_cents := NULL; overage_per := NULL;
    END IF;
    -- Two IFs, not one: a condition holding a subquery is run by the full executor even when its
    -- first half is false, on every check.
    IF included IS NULL THEN
      IF NOT EXISTS (SELECT 1 FROM features feature WHERE feature.code = p_metric AND feature.type = 'metered') THEN
        used := NULL;
      END IF;
    END IF;
  END IF;
  -- The spend cap decides only once the included units and the credits are spent: read then
  -- (spend_cap_of), not on every check.
  IF included IS NULL THEN
    credits_left := NULL;
  ELSIF overage_price_cents IS NOT NULL
        AND greatest(included - (used - credit_used - overage_used), 0) + credits_left = 0 THEN
    cap := spend_cap_of(p_org, current_period.plan_code, current_period.period_start, p_metric);
    cap_cents := cap.cap_cents; capped := cap.capped;
    org_overage_cents := cap.other_cents + overage_charge_cents(overage_used, overage_price_cents, overage_per);
  END IF;
  RETURN NEXT;
END $$;

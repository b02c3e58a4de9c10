-- The quota of one org and metric, read-only (the hot path's quota check). Returns no row when
-- the org has no subscription. A period with no counter yet has used 0 and the units of the
-- subscriber's plan version (included_units); when the plan grants no such metered feature,
-- included is NULL, and used is NULL too when the catalog has no such metered feature (the
-- output columns stay those every released app reads).
CREATE OR REPLACE FUNCTION quota_of(p_org text, p_metric text, p_grace interval)
RETURNS TABLE(plan_code text, status text, live boolean, period_start timestamptz,
              period_end timestamptz, used bigint, included bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
  subscription subscriptions;
  current_period record;
BEGIN
  SELECT * INTO subscription FROM subscriptions WHERE org_id = p_org;
  IF NOT FOUND THEN RETURN; END IF;
  current_period := org_period(subscription, now(), p_grace);
  plan_code := current_period.plan_code; status := current_period.status; live := current_period.live;
  period_start := current_period.period_start; period_end := current_period.period_end;
  SELECT counter.used, counter.included INTO used, included
    FROM usage_counters counter
   WHERE counter.org_id = p_org AND counter.metric = p_metric
     AND counter.period_start = current_period.period_start;
  IF NOT FOUND THEN
    used := 0;
    included := included_units(current_period.plan_code,
                               CASE WHEN current_period.plan_code = subscription.plan_code
                                    THEN subscription.plan_version END,
                               p_metric);
    -- Two IFs, not one: a condition holding a subquery is run by the full executor even when its
    -- first half is false, on every check.
    IF included IS NULL THEN
      IF NOT EXISTS (SELECT 1 FROM features feature WHERE feature.code = p_metric AND feature.type = 'metered') THEN
        used := NULL;
      END IF;
    END IF;
  END IF;
  RETURN NEXT;
END $$;

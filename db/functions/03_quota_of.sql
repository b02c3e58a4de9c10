-- The quota of one org and metric, read-only (the hot path's quota check). Returns no row when
-- the org has no subscription. A period with no counter yet has used 0 and its plan's units.
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
    included := coalesce((SELECT plan_unit.included FROM plan_units plan_unit
                           WHERE plan_unit.plan_code = current_period.plan_code
                             AND plan_unit.metric = p_metric), 0);
  END IF;
  RETURN NEXT;
END $$;

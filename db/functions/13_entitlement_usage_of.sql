-- What changes in an org's entitlements (GET /api/v1/entitlements), in one read as cheap as the
-- quota check: its period (the boundary rule applied, org_period), the plan version it is on, the
-- current catalog version, and one row per counter of that period (metric, used, included; one
-- row with a null metric while the period has none). No row when the org has no subscription.
-- What a plan version grants is immutable per (plan, plan version, catalog version): the app keeps
-- it in memory keyed by the three this returns (app/server/billing/entitlements.server.ts), so a
-- newly published catalog is seen on the very read that returns its version.
-- Grandfathering as in entitlements_of: a subscription keeps the plan version it was bought on; a
-- period the boundary rule moved to another plan, or a mirror with no version yet, is on that
-- plan's newest version.
CREATE OR REPLACE FUNCTION entitlement_usage_of(p_org text, p_grace interval)
RETURNS TABLE(plan_code text, plan_version int, billing_interval text, status text, live boolean,
              period_start timestamptz, period_end timestamptz, catalog_version int, metric text,
              used bigint, included bigint)
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
  billing_interval := subscription.billing_interval;
  IF current_period.plan_code = subscription.plan_code AND subscription.plan_version IS NOT NULL THEN
    plan_version := subscription.plan_version;
  ELSE
    plan_version := (SELECT sold.plan_version FROM catalog_version_plans sold
                      WHERE sold.plan_code = current_period.plan_code
                      ORDER BY sold.catalog_version DESC LIMIT 1);
  END IF;
  catalog_version := (SELECT max(published.version) FROM catalog_versions published);
  FOR metric, used, included IN
    SELECT counter.metric, counter.used, counter.included FROM usage_counters counter
     WHERE counter.org_id = p_org AND counter.period_start = current_period.period_start
  LOOP
    RETURN NEXT;
  END LOOP;
  IF NOT FOUND THEN
    metric := NULL; used := NULL; included := NULL;
    RETURN NEXT;
  END IF;
END $$;

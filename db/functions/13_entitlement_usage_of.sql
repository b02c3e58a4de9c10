-- What changes in an org's entitlements (GET /api/v1/entitlements), in one read, for the orgs
-- period_usage_of does not answer alone (credits, a moved period, no pinned version, the spend cap
-- deciding a feature's allow): its period (the boundary rule applied, org_period), the plan
-- version it is on, the current catalog version, and one row per counter of that period (metric,
-- used, included; one row with a null metric while the period has none). No row when the org has
-- no subscription. What a plan version grants is immutable per (plan, plan version, catalog
-- version): the app keeps it in memory keyed by the three (app/server/billing/entitlements.server.ts).
-- Grandfathering as in entitlements_of: a subscription keeps the plan version it was bought on; a
-- period the boundary rule moved to another plan, or a mirror with no version yet, is on that
-- plan's newest version.
-- Past the included units (issue 23): each counter's credit and overage units and overage price;
-- on every row, the org's unexpired credits per metric (credits: {metric: units}, one probe of the
-- partial index of spendable grants, only for an org ever granted some: subscriptions.has_credits)
-- and, only when a feature that sells overage has nothing left of its included units and credits
-- (the cap decides its allow then), the spend cap and the org's period overage charge (spend_cap_of).
CREATE OR REPLACE FUNCTION entitlement_usage_of(p_org text, p_grace interval)
RETURNS TABLE(plan_code text, plan_version int, billing_interval text, status text, live boolean,
              period_start timestamptz, period_end timestamptz, catalog_version int, metric text,
              used bigint, included bigint, credit_used bigint, overage_used bigint,
              overage_price_cents int, overage_per int, credits jsonb, cap_cents bigint, capped boolean,
              org_overage_cents bigint)
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
  billing_interval := subscription.billing_interval;
  IF current_period.plan_code = subscription.plan_code AND subscription.plan_version IS NOT NULL THEN
    plan_version := subscription.plan_version;
  ELSE
    plan_version := (SELECT sold.plan_version FROM catalog_version_plans sold
                      WHERE sold.plan_code = current_period.plan_code
                      ORDER BY sold.catalog_version DESC LIMIT 1);
  END IF;
  catalog_version := (SELECT max(published.version) FROM catalog_versions published);
  IF subscription.has_credits THEN
    credits := (SELECT jsonb_object_agg(spendable.metric, spendable.units)
                  FROM (SELECT grant_row.metric, sum(grant_row.remaining) AS units FROM credit_grants grant_row
                         WHERE grant_row.org_id = p_org AND grant_row.remaining > 0 AND grant_row.expires_at > now()
                         GROUP BY grant_row.metric) spendable);
  END IF;
  -- The cap decides a feature's allow only once its included units and credits are spent, so it
  -- is read only then: a counter of the period that sells overage (its copy of the price) with
  -- nothing left, or a feature the plan version sells overage on (a monthly price) with no
  -- included units, no counter yet and no credits.
  IF EXISTS (SELECT 1 FROM usage_counters counter
              WHERE counter.org_id = p_org AND counter.period_start = current_period.period_start
                AND counter.overage_price_cents IS NOT NULL
                AND greatest(counter.included - (counter.used - counter.credit_used - counter.overage_used), 0)
                    + coalesce((credits ->> counter.metric)::bigint, 0) <= 0)
     OR (subscription.billing_interval = 'month'
         AND EXISTS (SELECT 1 FROM plan_version_features version_feature
                      WHERE version_feature.plan_code = current_period.plan_code
                        AND version_feature.version = plan_version
                        AND version_feature.overage_price_cents IS NOT NULL
                        AND coalesce(version_feature.included, 0) <= 0
                        AND coalesce((credits ->> version_feature.feature)::bigint, 0) <= 0
                        AND NOT EXISTS (SELECT 1 FROM usage_counters counter
                                         WHERE counter.org_id = p_org AND counter.metric = version_feature.feature
                                           AND counter.period_start = current_period.period_start))) THEN
    cap := spend_cap_of(p_org, current_period.plan_code, current_period.period_start, NULL);
    cap_cents := cap.cap_cents; capped := cap.capped; org_overage_cents := cap.other_cents;
  END IF;
  FOR metric, used, included, credit_used, overage_used, overage_price_cents, overage_per IN
    SELECT counter.metric, counter.used, counter.included, counter.credit_used, counter.overage_used,
           counter.overage_price_cents, counter.overage_per
      FROM usage_counters counter
     WHERE counter.org_id = p_org AND counter.period_start = current_period.period_start
  LOOP
    RETURN NEXT;
  END LOOP;
  IF NOT FOUND THEN
    metric := NULL; used := NULL; included := NULL; credit_used := NULL; overage_used := NULL;
    overage_price_cents := NULL; overage_per := NULL;
    RETURN NEXT;
  END IF;
END $$;

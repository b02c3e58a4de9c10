-- The org's entitlements in one read (GET /api/v1/entitlements): its period (the boundary rule
-- applied, org_period), the plan version it is on, and one row per feature with what that
-- version grants and, for a metered feature, the period's counter (used 0 and the version's
-- units while the period has none). No row when the org has no subscription; one row with a null
-- feature when no catalog has been published. in_plan: the plan version lists the feature (a
-- numeric one listed with a null limit is unlimited; one not listed grants nothing).
-- Grandfathering: a subscription keeps the plan version it was bought on (plan_version). A
-- period the boundary rule moved to another plan (a trial renewing, a downgrade applied) is on
-- that plan's newest version until convergence records it; so is a mirror with no version yet.
-- The features listed are the current catalog's and any other the org's plan version grants.
-- overage_price_cents and overage_per: what the plan version sells past the included units (none
-- on a yearly price); credit_used and overage_used: the period's counter's.
CREATE OR REPLACE FUNCTION entitlements_of(p_org text, p_grace interval)
RETURNS TABLE(plan_code text, plan_version int, billing_interval text, status text, live boolean,
              period_start timestamptz, period_end timestamptz, feature text, feature_type text,
              unit text, in_plan boolean, included bigint, feature_limit bigint, granted boolean,
              used bigint, overage_price_cents int, overage_per int, credit_used bigint,
              overage_used bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
  -- plpgsql, not sql: its plan is cached per session instead of re-planned on every call.
  RETURN QUERY
  WITH subscription_period AS (
    SELECT period.plan_code, subscription.billing_interval, period.status, period.live,
           period.period_start, period.period_end,
           CASE WHEN period.plan_code = subscription.plan_code AND subscription.plan_version IS NOT NULL
                THEN subscription.plan_version
                ELSE (SELECT sold.plan_version FROM catalog_version_plans sold
                       WHERE sold.plan_code = period.plan_code
                       ORDER BY sold.catalog_version DESC LIMIT 1) END AS plan_version
      FROM subscriptions subscription
     CROSS JOIN LATERAL org_period(subscription, now(), p_grace) period
     WHERE subscription.org_id = p_org)
  SELECT org_plan.plan_code, org_plan.plan_version, org_plan.billing_interval, org_plan.status,
         org_plan.live, org_plan.period_start, org_plan.period_end,
         entitlement.code, entitlement.type, entitlement.unit, entitlement.in_plan,
         coalesce(counter.included, entitlement.included), entitlement."limit", entitlement.granted,
         coalesce(counter.used, 0),
         CASE WHEN org_plan.billing_interval = 'month' THEN entitlement.overage_price_cents END,
         CASE WHEN org_plan.billing_interval = 'month' THEN entitlement.overage_per END,
         coalesce(counter.credit_used, 0), coalesce(counter.overage_used, 0)
    FROM subscription_period org_plan
    LEFT JOIN LATERAL (
           SELECT feature.code, feature.type, feature.unit, granting.feature IS NOT NULL AS in_plan,
                  granting.included, granting."limit", granting.granted,
                  granting.overage_price_cents, granting.overage_per
             FROM features feature
             LEFT JOIN plan_version_features granting
                    ON granting.plan_code = org_plan.plan_code AND granting.version = org_plan.plan_version
                   AND granting.feature = feature.code
            WHERE feature.last_version = (SELECT max(published.version) FROM catalog_versions published)
               OR granting.feature IS NOT NULL) entitlement ON true
    LEFT JOIN usage_counters counter
           ON counter.org_id = p_org AND counter.metric = entitlement.code
          AND counter.period_start = org_plan.period_start
   ORDER BY entitlement.code;
END $$;

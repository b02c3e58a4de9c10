-- The quota check's read for most orgs (GET /api/v1/quota, and one entitlement's,
-- GET /api/v1/entitlements/{feature}): the org's period (the boundary rule
-- applied, org_period), its plan and the plan version its subscription is pinned to, and the
-- period's counter of one metric (NULL columns while the period has none). No row when the org
-- has no subscription.
-- One plain statement, written in SQL so that Postgres inlines it into the caller's query
-- (as period_usage_of): quota_of's plpgsql wrapper and its branches cost the check a fifth of
-- its Postgres time. What the plan version grants a metric before its counter exists never
-- changes (published rows are immutable), so the app keeps it
-- (app/server/usage/engine.server.ts).
-- `plain` is false when this row does not answer the check alone: the org was granted credits
-- (subscriptions.has_credits), or its period is on another plan than its subscription (the
-- boundary rule moved it) or on no pinned version. The app then reads quota_of, which resolves
-- both, as it does when the spend cap decides `allow` (overage sold, nothing left of the
-- included units) and when the plan version does not grant the metric.
CREATE OR REPLACE FUNCTION period_counter_of(p_org text, p_metric text, p_grace interval)
RETURNS TABLE(plan_code text, plan_version int, billing_interval text, status text, live boolean,
              plain boolean, period_start timestamptz, period_end timestamptz,
              used bigint, included bigint, credit_used bigint, overage_used bigint,
              overage_price_cents int, overage_per int)
LANGUAGE sql STABLE AS $$
  SELECT current_period.plan_code, subscription.plan_version, subscription.billing_interval,
         current_period.status, current_period.live,
         NOT subscription.has_credits AND current_period.plan_code = subscription.plan_code
           AND subscription.plan_version IS NOT NULL,
         current_period.period_start, current_period.period_end,
         counter.used, counter.included, counter.credit_used, counter.overage_used,
         counter.overage_price_cents, counter.overage_per
    FROM subscriptions subscription
   CROSS JOIN LATERAL org_period(subscription, now(), p_grace) current_period
    LEFT JOIN usage_counters counter
           ON counter.org_id = subscription.org_id AND counter.metric = p_metric
          AND counter.period_start = current_period.period_start
   WHERE subscription.org_id = p_org
$$;

-- The entitlements read for most orgs (GET /api/v1/entitlements): the org's period (the boundary
-- rule applied, org_period), its plan and the plan version its subscription is pinned to, and one
-- row per counter of that period (metric, used, included, credit and overage units, the overage
-- price the counter was started with); one row with a null metric while the period has none. No
-- row when the org has no subscription.
-- One plain statement, written in SQL so that Postgres inlines it into the caller's query: the
-- plpgsql wrapper and the catalog version cost entitlement_usage_of a third more than quota_of.
-- The app keeps the current catalog version and what a plan version grants under it
-- (app/server/billing/entitlements.server.ts).
-- `plain` is false when these rows do not answer the read alone: the org was granted credits
-- (subscriptions.has_credits), or its period is on another plan than its subscription (the
-- boundary rule moved it) or on no pinned version. The app then reads entitlement_usage_of,
-- which resolves both, as it does when the spend cap decides a feature's allow.
CREATE OR REPLACE FUNCTION period_usage_of(p_org text, p_grace interval)
RETURNS TABLE(plan_code text, plan_version int, billing_interval text, status text, live boolean,
              plain boolean, period_start timestamptz, period_end timestamptz, metric text,
              used bigint, included bigint, credit_used bigint, overage_used bigint,
              overage_price_cents int, overage_per int)
LANGUAGE sql STABLE AS $$
  SELECT current_period.plan_code, subscription.plan_version, subscription.billing_interval,
         current_period.status, current_period.live,
         NOT subscription.has_credits AND current_period.plan_code = subscription.plan_code
           AND subscription.plan_version IS NOT NULL,
         current_period.period_start, current_period.period_end,
         counter.metric, counter.used, counter.included, counter.credit_used, counter.overage_used,
         counter.overage_price_cents, counter.overage_per
    FROM subscriptions subscription
   CROSS JOIN LATERAL org_period(subscription, now(), p_grace) current_period
    LEFT JOIN usage_counters counter
           ON counter.org_id = subscription.org_id AND counter.period_start = current_period.period_start
   WHERE subscription.org_id = p_org
$$;

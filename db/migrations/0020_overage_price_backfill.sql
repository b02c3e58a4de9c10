-- Counters started before usage_counters carried an overage price (0018): the current and later
-- periods' counters of monthly subscriptions get their plan version's overage price, as
-- record_usage and setPeriodUnits give a new counter (overage_price_of), so overage is sold from
-- this release on rather than from the next period. Without a pinned version, the plan's newest.
UPDATE usage_counters counter
   SET overage_price_cents = price.overage_price_cents, overage_per = price.overage_per
  FROM subscriptions subscription
 CROSS JOIN LATERAL (
       SELECT DISTINCT ON (version_feature.feature)
              version_feature.overage_price_cents, version_feature.overage_per, version_feature.feature
         FROM plan_version_features version_feature
        WHERE version_feature.plan_code = subscription.plan_code
          AND (subscription.plan_version IS NULL OR version_feature.version = subscription.plan_version)
        ORDER BY version_feature.feature, version_feature.version DESC) price
 WHERE counter.org_id = subscription.org_id
   AND price.feature = counter.metric
   AND subscription.billing_interval = 'month'
   AND counter.period_end > now()
   AND counter.overage_price_cents IS NULL
   AND price.overage_price_cents IS NOT NULL AND price.overage_per > 0;

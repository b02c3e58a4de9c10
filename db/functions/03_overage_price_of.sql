-- The overage price a period's counter starts with (usage_counters.overage_price_cents and
-- overage_per): the plan version's, NULL when it sells none. Overage is sold on monthly prices
-- only (the catalog's rule), so a yearly subscription gets none. Without a version (a
-- subscription not pinned yet, or a period the boundary rule moved to another plan), the plan's
-- newest version. Read once per period and feature, when the counter is created.
CREATE OR REPLACE FUNCTION overage_price_of(p_plan_code text, p_plan_version int, p_metric text,
                                            p_billing_interval text, OUT price_cents int, OUT per int)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF p_billing_interval IS DISTINCT FROM 'month' THEN RETURN; END IF;
  SELECT version_feature.overage_price_cents, version_feature.overage_per INTO price_cents, per
    FROM plan_version_features version_feature
   WHERE version_feature.plan_code = p_plan_code AND version_feature.feature = p_metric
     AND (p_plan_version IS NULL OR version_feature.version = p_plan_version)
   ORDER BY version_feature.version DESC LIMIT 1;
  IF price_cents IS NULL OR per IS NULL OR per <= 0 THEN
    price_cents := NULL; per := NULL;
  END IF;
END $$;

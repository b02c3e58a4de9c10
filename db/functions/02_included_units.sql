-- The units of a metered feature a plan grants per period, NULL when it grants none: the terms of
-- the plan version the subscription was bought on (plan_version_features, grandfathering), or,
-- without a version (a subscription not pinned yet, or a period the boundary rule moved to
-- another plan), the plan's current terms (plan_units, the current catalog's copy). Read only
-- when a period's counter is created (or read before it exists): one primary-key lookup.
-- plpgsql, not sql: a sql function called from plpgsql (quota_of) is planned again on every
-- call, which made the quota check of an org with no counter yet twice as dear in Postgres CPU;
-- plpgsql caches the two plans per session.
CREATE OR REPLACE FUNCTION included_units(p_plan_code text, p_plan_version int, p_metric text)
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
  units bigint;
BEGIN
  IF p_plan_version IS NULL THEN
    SELECT plan_unit.included INTO units FROM plan_units plan_unit
     WHERE plan_unit.plan_code = p_plan_code AND plan_unit.metric = p_metric;
  ELSE
    SELECT version_feature.included INTO units FROM plan_version_features version_feature
     WHERE version_feature.plan_code = p_plan_code AND version_feature.version = p_plan_version
       AND version_feature.feature = p_metric;
  END IF;
  RETURN units;
END $$;

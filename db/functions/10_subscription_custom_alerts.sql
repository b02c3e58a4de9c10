-- A subscription row inserted for an org that already set its own alerts (usage_alerts) starts
-- with custom_alerts true (a trigger, created by a migration): record_usage's fast path reads it.
CREATE OR REPLACE FUNCTION subscription_custom_alerts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.custom_alerts := EXISTS (SELECT 1 FROM usage_alerts alert WHERE alert.org_id = NEW.org_id);
  RETURN NEW;
END $$;

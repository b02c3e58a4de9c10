-- Adding or removing an org's alerts of a feature (usage_alerts) sets its subscription's
-- custom_alerts, the flag record_usage reads with its lock (a trigger, created by a migration).
-- The alerts' writer locks the subscription row first, as record_usage does.
CREATE OR REPLACE FUNCTION usage_alerts_flag() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  org text := CASE WHEN TG_OP = 'DELETE' THEN OLD.org_id ELSE NEW.org_id END;
BEGIN
  UPDATE subscriptions subscription
     SET custom_alerts = EXISTS (SELECT 1 FROM usage_alerts alert WHERE alert.org_id = org)
   WHERE subscription.org_id = org;
  RETURN NULL;
END $$;

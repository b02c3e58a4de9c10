-- A subscription row inserted for an org that already set its own alerts (usage_alerts) starts
-- with custom_alerts true: record_usage's fast path reads that flag. The function's current
-- definition lives in db/functions/10_subscription_custom_alerts.sql.
CREATE OR REPLACE FUNCTION subscription_custom_alerts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.custom_alerts := EXISTS (SELECT 1 FROM usage_alerts alert WHERE alert.org_id = NEW.org_id);
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER subscription_custom_alerts BEFORE INSERT ON subscriptions
  FOR EACH ROW EXECUTE FUNCTION subscription_custom_alerts();
--> statement-breakpoint
-- Adding or removing an org's alerts of a feature sets its subscription's flag (the definition
-- lives in db/functions/10_usage_alerts_flag.sql).
CREATE OR REPLACE FUNCTION usage_alerts_flag() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  org text := CASE WHEN TG_OP = 'DELETE' THEN OLD.org_id ELSE NEW.org_id END;
BEGIN
  UPDATE subscriptions subscription
     SET custom_alerts = EXISTS (SELECT 1 FROM usage_alerts alert WHERE alert.org_id = org)
   WHERE subscription.org_id = org;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER usage_alerts_flag AFTER INSERT OR DELETE ON usage_alerts
  FOR EACH ROW EXECUTE FUNCTION usage_alerts_flag();

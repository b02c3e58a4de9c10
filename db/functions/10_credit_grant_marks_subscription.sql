-- subscriptions.has_credits, set once an org is granted credits (a trigger on credit_grants, created
-- by migration 0021) and never cleared: the quota check and the entitlements read look for credits
-- only when it is set.
CREATE OR REPLACE FUNCTION credit_grant_marks_subscription() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE subscriptions SET has_credits = true WHERE org_id = NEW.org_id AND NOT has_credits;
  RETURN NULL;
END $$;

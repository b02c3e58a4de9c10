ALTER TABLE "subscriptions" ADD COLUMN "has_credits" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE OR REPLACE FUNCTION credit_grant_marks_subscription() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE subscriptions SET has_credits = true WHERE org_id = NEW.org_id AND NOT has_credits;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER credit_grant_marks_subscription AFTER INSERT ON credit_grants
  FOR EACH ROW EXECUTE FUNCTION credit_grant_marks_subscription();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION subscription_has_credits_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.has_credits := EXISTS (SELECT 1 FROM credit_grants grant_row WHERE grant_row.org_id = NEW.org_id);
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER subscription_has_credits_on_insert BEFORE INSERT ON subscriptions
  FOR EACH ROW EXECUTE FUNCTION subscription_has_credits_on_insert();
--> statement-breakpoint
UPDATE subscriptions subscription SET has_credits = true
 WHERE EXISTS (SELECT 1 FROM credit_grants grant_row WHERE grant_row.org_id = subscription.org_id);

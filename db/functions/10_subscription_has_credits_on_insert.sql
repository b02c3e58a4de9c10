-- A subscription row made after its org's first credit grant starts with has_credits set (a
-- trigger on subscriptions, created by migration 0021).
CREATE OR REPLACE FUNCTION subscription_has_credits_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.has_credits := EXISTS (SELECT 1 FROM credit_grants grant_row WHERE grant_row.org_id = NEW.org_id);
  RETURN NEW;
END $$;

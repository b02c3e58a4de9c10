-- Whether a subscription in this status is live: Stripe still runs it, so the org has a plan that
-- counts (app/subscription-status.ts's isLive; a test holds the two equal). A live past_due
-- subscription admits usage only until grace_ends (org_period).
CREATE OR REPLACE FUNCTION is_live(p_status text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT p_status IN ('active', 'trialing', 'past_due')
$$;

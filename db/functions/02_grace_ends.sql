-- The past-due grace rule, written once: a subscription whose renewal payment failed keeps its
-- quota until p_grace (PAST_DUE_GRACE_DAYS) after its period start, while Stripe retries the
-- payment. org_period (the quota read and the usage write), the operators' overview and the
-- dashboard all read it from here.
CREATE OR REPLACE FUNCTION grace_ends(p_period_start timestamptz, p_grace interval)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT p_period_start + p_grace
$$;

-- The org's spendable credits of a feature at p_now (unexpired grants' remaining).
CREATE OR REPLACE FUNCTION credits_of(p_org text, p_metric text, p_now timestamptz)
RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(grant_row.remaining), 0)::bigint
    FROM credit_grants grant_row
   WHERE grant_row.org_id = p_org AND grant_row.metric = p_metric
     AND grant_row.remaining > 0 AND grant_row.expires_at > p_now
$$;

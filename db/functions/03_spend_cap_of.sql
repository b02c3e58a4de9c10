-- The org's monthly overage cap in cents, and the overage charge of its period so far on every
-- metered feature but p_except_metric (the one the caller is deciding, whose units it holds).
-- The cap: the one an admin chose (org_spend_caps; NULL amount: no cap, chosen explicitly), else
-- the default, the monthly price of the period's plan, so overage at most doubles the bill and
-- nobody gets an unbounded bill without choosing it (docs/api.md, "Spend cap").
-- Read only when a request needs overage, under the org's subscription lock.
CREATE OR REPLACE FUNCTION spend_cap_of(p_org text, p_plan_code text, p_period_start timestamptz,
                                        p_except_metric text, OUT cap_cents bigint, OUT capped boolean,
                                        OUT other_cents bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  SELECT chosen.amount_cents INTO cap_cents FROM org_spend_caps chosen WHERE chosen.org_id = p_org;
  IF FOUND THEN
    capped := cap_cents IS NOT NULL;
  ELSE
    SELECT plan.price_monthly INTO cap_cents FROM plans plan WHERE plan.code = p_plan_code;
    cap_cents := coalesce(cap_cents, 0);
    capped := true;
  END IF;
  SELECT coalesce(sum(overage_charge_cents(counter.overage_used, counter.overage_price_cents, counter.overage_per)), 0)
    INTO other_cents
    FROM usage_counters counter
   WHERE counter.org_id = p_org AND counter.period_start = p_period_start
     AND counter.metric IS DISTINCT FROM p_except_metric
     AND counter.overage_used > 0 AND counter.overage_price_cents IS NOT NULL;
END $$;

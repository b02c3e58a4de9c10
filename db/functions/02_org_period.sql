-- The period an org is in at p_now. Boundary rule: once period_end has passed, usage belongs to
-- the next period, with the next period's plan (pending downgrade, or what a trial renews as),
-- even before Stripe's renewal webhook arrives; a subscription set to cancel does not roll.
-- The quota read, the usage write and the billing mirror's roll-forward all use this one rule.
CREATE OR REPLACE FUNCTION org_period(p_subscription subscriptions, p_now timestamptz, p_grace interval,
  OUT plan_code text, OUT status text, OUT period_start timestamptz, OUT period_end timestamptz,
  OUT live boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  plan_code := p_subscription.plan_code;
  status := p_subscription.status;
  period_start := p_subscription.period_start;
  period_end := p_subscription.period_end;
  -- Live (is_live), and a past_due one only until its grace ends.
  live := is_live(p_subscription.status)
          AND (p_subscription.status <> 'past_due' OR p_now < grace_ends(p_subscription.period_start, p_grace));
  WHILE live AND p_now >= period_end LOOP
    IF p_subscription.cancel_at_period_end OR status NOT IN ('active', 'trialing') THEN
      live := false;
      EXIT;
    END IF;
    plan_code := coalesce(p_subscription.pending_plan_code,
                          (SELECT plan.renews_as FROM plans plan WHERE plan.code = plan_code),
                          plan_code);
    status := 'active';
    period_start := period_end;
    period_end := ((period_end AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
  END LOOP;
END $$;

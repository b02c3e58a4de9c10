-- The period an org is in at p_now. Boundary rule: once period_end has passed, usage belongs to
-- the next period, with the next period's plan (pending downgrade, or what a trial renews as),
-- even before Stripe's renewal webhook arrives; a subscription set to cancel does not roll.
-- The quota read, the usage write and the billing mirror's roll-forward all use this one rule.
-- A yearly subscription (billing_interval 'year') is billed per year but its included units
-- reset every month on its anniversary day: period_start/period_end are then the allowance month
-- that holds p_now (Jan 31 → Feb 28 → Mar 31, counted from the billed period's start, never past
-- its end), and billing_period_start/billing_period_end the billed year. For a monthly one the
-- two pairs are equal, and it costs one comparison more than before.
CREATE OR REPLACE FUNCTION org_period(p_subscription subscriptions, p_now timestamptz, p_grace interval,
  OUT plan_code text, OUT status text, OUT period_start timestamptz, OUT period_end timestamptz,
  OUT live boolean, OUT billing_period_start timestamptz, OUT billing_period_end timestamptz)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  elapsed interval;
  months int;
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
    period_end := ((period_end AT TIME ZONE 'UTC')
                   + CASE WHEN p_subscription.billing_interval = 'year' THEN interval '1 year' ELSE interval '1 month' END)
                  AT TIME ZONE 'UTC';
  END LOOP;
  billing_period_start := period_start;
  billing_period_end := period_end;
  IF p_subscription.billing_interval = 'year' THEN
    -- Whole months from the billed period's start to p_now (none before it starts), each month
    -- counted from that start so a short month does not move the anniversary day.
    elapsed := age(p_now AT TIME ZONE 'UTC', billing_period_start AT TIME ZONE 'UTC');
    months := greatest(0, (extract(year FROM elapsed) * 12 + extract(month FROM elapsed))::int - 1);
    WHILE ((billing_period_start AT TIME ZONE 'UTC') + make_interval(months => months + 1)) AT TIME ZONE 'UTC' <= p_now LOOP
      months := months + 1;
    END LOOP;
    period_start := ((billing_period_start AT TIME ZONE 'UTC') + make_interval(months => months)) AT TIME ZONE 'UTC';
    period_end := least(((billing_period_start AT TIME ZONE 'UTC') + make_interval(months => months + 1)) AT TIME ZONE 'UTC',
                        billing_period_end);
  END IF;
END $$;

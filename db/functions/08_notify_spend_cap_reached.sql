-- spend_cap.reached, once per org and period (its dedupe key): record_usage calls it when a
-- request is refused for the cap, or an overage admission leaves no room for one more overage unit
-- under it (so an org whose later requests are refused by deny_or_replay, which writes nothing,
-- has had it).
CREATE OR REPLACE FUNCTION notify_spend_cap_reached(p_org text, p_metric text, p_period_start timestamptz,
                                                    p_cap_cents bigint, p_overage_cents bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  period text := to_char(p_period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
BEGIN
  PERFORM emit_event(p_org, 'spend_cap.reached',
                     jsonb_build_object('metric', p_metric, 'capCents', p_cap_cents,
                                        'overageCents', p_overage_cents, 'periodStart', period,
                                        'currency', coalesce((SELECT plan.currency FROM subscriptions subscription
                                                                JOIN plans plan ON plan.code = subscription.plan_code
                                                               WHERE subscription.org_id = p_org), 'usd')),
                     'spend_cap.reached:' || p_org || ':' || period);
END $$;

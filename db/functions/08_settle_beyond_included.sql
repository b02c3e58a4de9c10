-- Called by record_usage once per counter of its batch that spent credits or admitted overage,
-- after its last request and under the org's subscription lock: writes the counter (its used, and
-- what it spent past its included units: record_usage's own counter write then skips it), takes the credits from the org's grants (oldest expiry first), and emits
-- what the spending started, each once:
--  * usage.overage_started, the period's first overage admission of the feature (dedupe key);
--  * an auto top-up run, when the org's enabled setting for the feature saw its credits go from
--    >= below to < below: one auto_top_up_runs row per crossing (unique by the newest grant at
--    the crossing, so a retried or concurrent batch adds nothing) and its auto_top_up job;
--  * the org's own alerts of the feature (usage_alerts, one primary-key probe): credits.low when
--    its credits go from >= credits_below to fewer, overage.threshold_reached when the feature's
--    overage charge this period goes from <= overage_above_cents to more; each once per period
--    and threshold (its dedupe key), and only in the transaction that crosses (the lock orders them).
CREATE OR REPLACE FUNCTION settle_beyond_included(p_org text, p_metric text, p_period_start timestamptz,
                                                  p_period_end timestamptz, p_now timestamptz,
                                                  p_used bigint, p_credit_used bigint, p_credits_spent bigint,
                                                  p_overage_used bigint, p_overage_used_before bigint,
                                                  p_included bigint, p_price_cents int, p_per int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  credits_before bigint;
  setting record;
  crossing_grant text;
  run_id text;
  alert record;
  period text := to_char(p_period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
  overage_before_cents bigint;
  overage_after_cents bigint;
BEGIN
  UPDATE usage_counters counter
     SET used = p_used, credit_used = p_credit_used, overage_used = p_overage_used, updated_at = p_now
   WHERE counter.org_id = p_org AND counter.metric = p_metric AND counter.period_start = p_period_start;

  IF p_credits_spent > 0 THEN
    SELECT coalesce(sum(grant_row.remaining), 0) INTO credits_before
      FROM credit_grants grant_row
     WHERE grant_row.org_id = p_org AND grant_row.metric = p_metric
       AND grant_row.remaining > 0 AND grant_row.expires_at > p_now;
    -- The grants in spending order, each taking what the ones before it could not cover.
    UPDATE credit_grants grant_row
       SET remaining = grant_row.remaining - least(grant_row.remaining, p_credits_spent - spending.before)
      FROM (SELECT spendable.id,
                   coalesce(sum(spendable.remaining) OVER (ORDER BY spendable.expires_at, spendable.id
                                                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
              FROM credit_grants spendable
             WHERE spendable.org_id = p_org AND spendable.metric = p_metric
               AND spendable.remaining > 0 AND spendable.expires_at > p_now) spending
     WHERE grant_row.id = spending.id AND spending.before < p_credits_spent;

    SELECT auto.below, auto.packs INTO setting
      FROM auto_top_up_settings auto
     WHERE auto.org_id = p_org AND auto.metric = p_metric AND auto.enabled;
    IF FOUND AND credits_before >= setting.below AND credits_before - p_credits_spent < setting.below THEN
      SELECT grant_row.id INTO crossing_grant
        FROM credit_grants grant_row
       WHERE grant_row.org_id = p_org AND grant_row.metric = p_metric
       ORDER BY grant_row.granted_at DESC, grant_row.id DESC LIMIT 1;
      run_id := 'atu_' || replace(gen_random_uuid()::text, '-', '');
      INSERT INTO auto_top_up_runs (id, org_id, metric, packs, status, crossing_grant_id, created_at)
      VALUES (run_id, p_org, p_metric, setting.packs, 'pending', crossing_grant, p_now)
      ON CONFLICT (org_id, metric, crossing_grant_id) DO NOTHING;
      IF FOUND THEN
        PERFORM graphile_worker.add_job('auto_top_up', json_build_object('runId', run_id),
                                        max_attempts := 25, job_key := run_id);
      END IF;
    END IF;
  END IF;

  SELECT custom.credits_below, custom.overage_above_cents INTO alert
    FROM usage_alerts custom WHERE custom.org_id = p_org AND custom.metric = p_metric;
  IF FOUND THEN
    IF alert.credits_below IS NOT NULL AND p_credits_spent > 0
       AND credits_before >= alert.credits_below AND credits_before - p_credits_spent < alert.credits_below THEN
      PERFORM emit_event(p_org, 'credits.low',
                         jsonb_build_object('metric', p_metric, 'below', alert.credits_below,
                                            'creditsLeft', credits_before - p_credits_spent,
                                            'periodStart', period,
                                            'periodEnd', to_char(p_period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
                         'credits.low:' || p_org || ':' || p_metric || ':' || period || ':' || alert.credits_below);
    END IF;
    IF alert.overage_above_cents IS NOT NULL AND p_overage_used > p_overage_used_before THEN
      overage_before_cents := overage_charge_cents(p_overage_used_before, p_price_cents, p_per);
      overage_after_cents := overage_charge_cents(p_overage_used, p_price_cents, p_per);
      IF overage_before_cents <= alert.overage_above_cents AND overage_after_cents > alert.overage_above_cents THEN
        PERFORM emit_event(p_org, 'overage.threshold_reached',
                           jsonb_build_object('metric', p_metric, 'aboveCents', alert.overage_above_cents,
                                              'overageCents', overage_after_cents, 'overageUnits', p_overage_used,
                                              'currency', coalesce((SELECT plan.currency FROM subscriptions subscription
                                                                      JOIN plans plan ON plan.code = subscription.plan_code
                                                                     WHERE subscription.org_id = p_org), 'usd'),
                                              'periodStart', period,
                                              'periodEnd', to_char(p_period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
                           'overage.threshold_reached:' || p_org || ':' || p_metric || ':' || period || ':' || alert.overage_above_cents);
      END IF;
    END IF;
  END IF;

  IF p_overage_used_before = 0 AND p_overage_used > 0 THEN
    PERFORM emit_event(p_org, 'usage.overage_started',
                       jsonb_build_object('metric', p_metric, 'included', p_included,
                                          'overagePriceCents', p_price_cents, 'overagePer', p_per,
                                          'periodStart', to_char(p_period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                                          'periodEnd', to_char(p_period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
                       'usage.overage_started:' || p_org || ':' || p_metric || ':'
                         || to_char(p_period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
  END IF;
END $$;

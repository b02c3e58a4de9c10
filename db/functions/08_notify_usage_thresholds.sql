-- Called by record_usage only when a counter of its batch crossed a default threshold (80% or
-- 100%), or changed for an org with alerts of its own (subscriptions.custom_alerts), after the
-- counters are written and while the batch's subscription locks are held. A feature the org set
-- percents for (usage_alerts) uses those instead of 80 and 100. The primary key of
-- usage_thresholds makes each (org, metric, period, threshold) emit once, whatever the batch,
-- the app process or a later change of the included units.
CREATE OR REPLACE FUNCTION notify_usage_thresholds(p_orgs text[], p_metrics text[],
                                                   p_period_starts timestamptz[],
                                                   p_used bigint[], p_added bigint[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  crossing record;
  new_event_id text;
BEGIN
  FOR crossing IN
    SELECT written.org_id, written.metric, written.period_start, counter.period_end,
           counter.included, written.used, threshold.percent
      FROM unnest(p_orgs, p_metrics, p_period_starts, p_used, p_added)
           written(org_id, metric, period_start, used, added)
      JOIN usage_counters counter
        ON counter.org_id = written.org_id AND counter.metric = written.metric
       AND counter.period_start = written.period_start
      LEFT JOIN usage_alerts alert
        ON alert.org_id = written.org_id AND alert.metric = written.metric
     CROSS JOIN LATERAL unnest(coalesce(alert.percents, ARRAY[80, 100])) threshold(percent)
     WHERE counter.included > 0
       AND (written.used - written.added) * 100 < threshold.percent * counter.included
       AND written.used * 100 >= threshold.percent * counter.included
  LOOP
    new_event_id := 'evt_' || replace(gen_random_uuid()::text, '-', '');
    INSERT INTO usage_thresholds (org_id, metric, period_start, threshold, event_id, reached_at)
    VALUES (crossing.org_id, crossing.metric, crossing.period_start, crossing.percent,
            new_event_id, now())
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
      PERFORM emit_event(crossing.org_id, 'usage.threshold_reached',
                         jsonb_build_object('metric', crossing.metric, 'threshold', crossing.percent,
                                            'used', crossing.used, 'included', crossing.included,
                                            'periodStart', to_char(crossing.period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                                            'periodEnd', to_char(crossing.period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
                         NULL, new_event_id);
    END IF;
  END LOOP;
END $$;

-- The state record_usage and deny_or_replay decide on, one row per request of a batch (in the
-- order given, batch_index counting from 1): the org's period (boundary rule applied), its
-- counter (or, when the period has none yet, the units its plan version grants: plan_included,
-- NULL when it grants none), and the earlier admission of the same request_id if any (the
-- prior_* columns; prior_part is 0 for a one-feature request, 1..N for a part of a request of
-- several features, see record_usage_parts). Past the included units (beyond_included): the
-- counter's credit and overage units and its overage price, the plan version and billing interval
-- a new counter's overage price comes from (overage_price_of), and the earlier admission's credit
-- and overage units (a replay answers them).
CREATE OR REPLACE FUNCTION usage_state(p_orgs text[], p_request_ids text[], p_metrics text[],
                                       p_quantities int[], p_grace interval, p_now timestamptz)
RETURNS TABLE(batch_index int, org_id text, request_id text, metric text, quantity int,
              subscription_status text, plan_code text, period_start timestamptz,
              period_end timestamptz, live boolean, counter_used bigint, counter_included bigint,
              prior_metric text, prior_quantity int, prior_used_after bigint, prior_included bigint,
              prior_period_start timestamptz, prior_recorded_at timestamptz,
              plan_included bigint, prior_part int, plan_version int, billing_interval text,
              counter_credit_used bigint, counter_overage_used bigint, counter_overage_price int,
              counter_overage_per int, prior_credit_units int, prior_overage_units int)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
  -- plpgsql, not sql: its plan is cached per session instead of re-planned on every call.
  RETURN QUERY
  WITH org_state AS (
    SELECT subscription.org_id, subscription.status AS subscription_status, period.plan_code,
           -- the version it was bought on, while the period is still on that plan
           CASE WHEN period.plan_code = subscription.plan_code THEN subscription.plan_version END AS plan_version,
           period.period_start, period.period_end, period.live, subscription.billing_interval
      FROM subscriptions subscription
     CROSS JOIN LATERAL org_period(subscription, p_now, p_grace) period
     WHERE subscription.org_id = ANY(p_orgs))
  SELECT request.batch_index::int, request.org_id, request.request_id, request.metric, request.quantity,
         org_state.subscription_status, org_state.plan_code, org_state.period_start,
         org_state.period_end, coalesce(org_state.live, false),
         counter.used, counter.included,
         earlier.metric, earlier.quantity, earlier.used_after, earlier.included,
         earlier.period_start, earlier.recorded_at,
         CASE WHEN counter.used IS NULL AND org_state.live
              THEN included_units(org_state.plan_code, org_state.plan_version, request.metric) END,
         earlier.part::int, org_state.plan_version, org_state.billing_interval,
         counter.credit_used, counter.overage_used, counter.overage_price_cents, counter.overage_per,
         earlier.credit_units, earlier.overage_units
    FROM unnest(p_orgs, p_request_ids, p_metrics, p_quantities) WITH ORDINALITY
         request(org_id, request_id, metric, quantity, batch_index)
    LEFT JOIN org_state ON org_state.org_id = request.org_id
    LEFT JOIN usage_counters counter
           ON counter.org_id = request.org_id AND counter.metric = request.metric
          AND counter.period_start = org_state.period_start
    LEFT JOIN LATERAL (
           -- One probe of (org_id, request_id) per request, never a scan of the period: the window
           -- is applied to what the probe found. Given to the scan, it let the planner pick the
           -- primary key (org_id, recorded_at, ...) and read every event of the org since its
           -- period started, per request: a cost growing with the org's volume, chosen by any
           -- session that planned on a large ledger. OFFSET 0 keeps it out of the scan.
           -- Remembered: since the current period's start or for 24 hours, and for the whole of
           -- the event's own period and 24 hours after it (its counter's period_end: one
           -- primary-key probe, made only for a request_id seen before), so a retry in the new
           -- period's first day of an admission made days before the boundary replays.
           SELECT found.* FROM (
                    SELECT event.metric, event.quantity, event.used_after, event.included,
                           event.period_start, event.recorded_at, event.part, event.credit_units,
                           event.overage_units
                      FROM usage_events event
                     WHERE event.org_id = request.org_id AND event.request_id = request.request_id
                    OFFSET 0) found
            WHERE found.recorded_at >= least(coalesce(org_state.period_start, p_now),
                                             p_now - interval '24 hours')
               OR EXISTS (SELECT 1 FROM usage_counters own
                           WHERE own.org_id = request.org_id AND own.metric = found.metric
                             AND own.period_start = found.period_start
                             AND own.period_end > p_now - interval '24 hours')
            ORDER BY found.recorded_at DESC
            LIMIT 1) earlier ON true;
END $$;

-- The usage write: records a batch of usage requests, possibly of many orgs, in one statement
-- (the app's group commit sends one call per batch). One row comes back per request, idx
-- being its position in the arrays (from 1).
--
-- Invariants:
--  * every writer of an org's usage first locks that org's subscription row; a batch locks all
--    its orgs up front, in sorted order, so concurrent batches and app instances never deadlock;
--  * "seen before" is read after those locks, so a concurrent duplicate is always seen, and it is
--    decided before "fits", so a replay answers the original success even when the quota is full;
--  * a request is admitted only if used + quantity <= included; the ledger rows and the counter
--    update commit together, and a denied request writes nothing (its request_id stays free);
--  * a request_id is remembered for its whole period and for 24 hours after;
--  * usage_hourly moves with the counter, in the same transaction (the portal's chart);
--  * a counter that crosses 80% or 100% of its included units emits usage.threshold_reached in
--    the same transaction, once per (org, metric, period, threshold) (notify_usage_thresholds);
--    a batch that crosses nothing does no more work than before.
--  * a period's counter starts with the units of the subscriber's plan version (included_units);
--    a metric the plan does not grant is 'not_in_plan', and one the catalog does not meter
--    'unknown_metric' (both write nothing);
--  * a request_id first used by a request of several features (record_usage_parts, part >= 1)
--    is a conflict here, never a replay.
-- The caller never sends one (org, request_id) twice in a batch; that is checked.
-- Its output columns are what the running app reads, so they keep the names every released app
-- version reads (idx: the request's position in the arrays, from 1; sub_status: the
-- subscription's status). A renamed output would break app processes still on the previous
-- release during a rolling upgrade; a new shape gets a new function name instead.
CREATE OR REPLACE FUNCTION record_usage(p_orgs text[], p_request_ids text[], p_metrics text[],
                                        p_quantities int[], p_grace interval)
RETURNS TABLE(idx int, outcome text, metric text, quantity int, used bigint,
              included bigint, period_start timestamptz, period_end timestamptz,
              recorded_at timestamptz, sub_status text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  batch_time timestamptz := now();
  batch_size int := cardinality(p_orgs);
  request record;
  -- the (org, metric) counter being walked (requests come sorted by org, metric, arrival)
  current_org text;
  current_metric text;
  current_period_start timestamptz;
  counter_used bigint;
  counter_included bigint;
  counter_used_before bigint;
  counter_changed boolean := false;
  -- per input position, set only for admitted requests (in-place writes, no copies)
  admitted_period_start timestamptz[] := array_fill(NULL::timestamptz, ARRAY[batch_size]);
  admitted_used_after bigint[] := array_fill(NULL::bigint, ARRAY[batch_size]);
  admitted_included bigint[] := array_fill(NULL::bigint, ARRAY[batch_size]);
  admitted_count int := 0;
  -- counters to write back, one entry per (org, metric) that admitted something
  written_orgs text[] := '{}';
  written_metrics text[] := '{}';
  written_period_starts timestamptz[] := '{}';
  written_used bigint[] := '{}';
  written_added bigint[] := '{}';
  threshold_crossed boolean := false;
BEGIN
  IF (SELECT count(DISTINCT (pair.org_id, pair.request_id))
        FROM unnest(p_orgs, p_request_ids) pair(org_id, request_id)) <> batch_size THEN
    RAISE EXCEPTION 'record_usage: a batch must not repeat an (org, request_id)';
  END IF;

  PERFORM 1 FROM subscriptions subscription
   WHERE subscription.org_id = ANY(p_orgs)
   ORDER BY subscription.org_id
     FOR NO KEY UPDATE;

  -- Read after the locks: period, counter and any earlier admission of each request.
  FOR request IN
    SELECT * FROM usage_state(p_orgs, p_request_ids, p_metrics, p_quantities, p_grace, batch_time) state
     ORDER BY state.org_id, state.metric, state.batch_index
  LOOP
    idx := request.batch_index;
    metric := request.metric;
    quantity := request.quantity;
    sub_status := request.subscription_status;
    used := NULL; included := NULL; period_start := NULL; period_end := NULL; recorded_at := NULL;

    IF request.prior_metric IS NOT NULL THEN
      IF request.prior_part = 0 AND request.prior_metric = request.metric AND request.prior_quantity = request.quantity THEN
        outcome := 'replayed';
        used := request.prior_used_after; included := request.prior_included;
        period_start := request.prior_period_start; recorded_at := request.prior_recorded_at;
      ELSE
        outcome := 'conflict';
      END IF;
      RETURN NEXT;
      CONTINUE;
    END IF;

    IF NOT request.live THEN
      outcome := 'inactive';
      RETURN NEXT;
      CONTINUE;
    END IF;

    -- No counter yet and no units to start one with: the plan does not grant this metric.
    IF request.counter_used IS NULL AND request.plan_included IS NULL THEN
      outcome := CASE WHEN EXISTS (SELECT 1 FROM features feature
                                    WHERE feature.code = request.metric AND feature.type = 'metered')
                      THEN 'not_in_plan' ELSE 'unknown_metric' END;
      RETURN NEXT;
      CONTINUE;
    END IF;

    IF current_org IS DISTINCT FROM request.org_id OR current_metric IS DISTINCT FROM request.metric THEN
      IF counter_changed THEN
        written_orgs := written_orgs || current_org;
        written_metrics := written_metrics || current_metric;
        written_period_starts := written_period_starts || current_period_start;
        written_used := written_used || counter_used;
        written_added := written_added || (counter_used - counter_used_before);
        threshold_crossed := threshold_crossed
                             OR usage_threshold_crossed(counter_used_before, counter_used, counter_included);
      END IF;
      current_org := request.org_id;
      current_metric := request.metric;
      current_period_start := request.period_start;
      counter_changed := false;
      IF request.counter_used IS NOT NULL THEN
        counter_used := request.counter_used;
        counter_included := request.counter_included;
        counter_used_before := counter_used;
      ELSE
        -- first request of a period: its counter starts with its plan version's units
        INSERT INTO usage_counters AS counter (org_id, metric, period_start, period_end, period_key,
                                               included, used, updated_at)
        VALUES (request.org_id, request.metric, request.period_start, request.period_end,
                to_char(request.period_start AT TIME ZONE 'UTC', 'YYYY-MM'),
                request.plan_included, 0, batch_time)
        ON CONFLICT (org_id, metric, period_start) DO UPDATE SET updated_at = excluded.updated_at
        RETURNING counter.used, counter.included INTO counter_used, counter_included;
        counter_used_before := counter_used;
      END IF;
    END IF;

    period_start := request.period_start; period_end := request.period_end;
    IF counter_used + request.quantity <= counter_included THEN
      counter_used := counter_used + request.quantity;
      counter_changed := true;
      outcome := 'admitted';
      used := counter_used; included := counter_included; recorded_at := batch_time;
      admitted_period_start[request.batch_index] := request.period_start;
      admitted_used_after[request.batch_index] := counter_used;
      admitted_included[request.batch_index] := counter_included;
      admitted_count := admitted_count + 1;
    ELSE
      outcome := 'denied';
      used := counter_used; included := counter_included;
    END IF;
    RETURN NEXT;
  END LOOP;

  IF counter_changed THEN
    written_orgs := written_orgs || current_org;
    written_metrics := written_metrics || current_metric;
    written_period_starts := written_period_starts || current_period_start;
    written_used := written_used || counter_used;
    written_added := written_added || (counter_used - counter_used_before);
    threshold_crossed := threshold_crossed
                         OR usage_threshold_crossed(counter_used_before, counter_used, counter_included);
  END IF;

  IF admitted_count > 0 THEN
    UPDATE usage_counters counter SET used = written.used, updated_at = batch_time
      FROM unnest(written_orgs, written_metrics, written_period_starts, written_used)
           written(org_id, metric, period_start, used)
     WHERE counter.org_id = written.org_id AND counter.metric = written.metric
       AND counter.period_start = written.period_start;

    INSERT INTO usage_hourly AS hourly (org_id, metric, hour, quantity)
    SELECT written.org_id, written.metric,
           date_trunc('hour', batch_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(written.added)
      FROM unnest(written_orgs, written_metrics, written_added) written(org_id, metric, added)
     GROUP BY written.org_id, written.metric
    ON CONFLICT (org_id, metric, hour) DO UPDATE SET quantity = hourly.quantity + excluded.quantity;

    INSERT INTO usage_events (org_id, request_id, metric, quantity, period_start, used_after,
                              included, recorded_at)
    SELECT admitted.org_id, admitted.request_id, admitted.metric, admitted.quantity,
           admitted.period_start, admitted.used_after, admitted.included, batch_time
      FROM unnest(p_orgs, p_request_ids, p_metrics, p_quantities, admitted_period_start,
                  admitted_used_after, admitted_included)
           admitted(org_id, request_id, metric, quantity, period_start, used_after, included)
     WHERE admitted.used_after IS NOT NULL;

    IF threshold_crossed THEN
      PERFORM notify_usage_thresholds(written_orgs, written_metrics, written_period_starts,
                                      written_used, written_added);
    END IF;
  END IF;
END $$;

-- The usage write for requests that record several features at once ({"api_call": 1, "tokens":
-- 1532}): each request is admitted whole or denied whole, in one statement per batch. One row
-- comes back per part: request_index is the request's position in p_orgs (from 1), part its
-- part's number within the request (from 1, in the order given: the app sends them sorted by
-- metric). Parts are given flat: p_part_requests[k] is the request of part k, grouped by request
-- in request order. One-feature requests never come here: record_usage decides those, so their
-- path and cost stay what they were.
--
-- Invariants (record_usage's, for every part):
--  * the batch locks its orgs' subscription rows up front, in sorted order, before reading
--    anything, so it serialises with record_usage batches and app instances without deadlocks;
--  * "seen before" is read after those locks and decided before "fits": a repeat with the same
--    parts (same metrics and quantities) replays the original answers, anything else with that
--    (org, request_id) — another set of parts, or a one-feature request (part 0) — is a conflict;
--  * a request is admitted only if every part fits, checked against the counters as the batch's
--    earlier admissions left them: within its included units, or past them as record_usage
--    admits (beyond_included: credits, then overage under the org's spend cap, counting the
--    overage of the request's other parts); then every part is counted, else none is ('denied',
--    each part with its counter's used and included, and denied_by on the part that does not fit,
--    so the caller can name it). An admitted request's credits and overage are written at once
--    (settle_beyond_included), so the next request of the batch reads them from the tables. A part the plan does not grant, or the catalog does not meter,
--    refuses the whole request: that part's row says 'not_in_plan' or 'unknown_metric', the
--    other parts' rows 'unrecorded'; nothing is written for it;
--  * the ledger gets one row per part (same request_id, part 1..N), written with the counters,
--    usage_hourly and the threshold events in the same transaction;
--  * the ledger and usage_hourly carry the API key each request came under (p_key_ids, one per
--    request, as record_usage's: '' or a null array for none), deciding nothing.
CREATE OR REPLACE FUNCTION record_usage_parts(p_orgs text[], p_request_ids text[], p_part_requests int[],
                                              p_metrics text[], p_quantities int[], p_grace interval,
                                              p_key_ids text[] DEFAULT NULL)
RETURNS TABLE(request_index int, part int, outcome text, metric text, quantity int, used bigint,
              included bigint, period_start timestamptz, period_end timestamptz,
              recorded_at timestamptz, subscription_status text, credit_units int, overage_units int,
              denied_by text, cap_cents bigint, overage_cents bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  batch_time timestamptz := now();
  request_count int := cardinality(p_orgs);
  part_count int := cardinality(p_metrics);
  request record;
  first_part int := 1;
  last_part int;
  position int;
  counter_position int;
  counter_key text;
  found_used bigint;
  found_included bigint;
  decided text;
  beyond record;
  -- the overage charge of this request's parts decided so far, not yet written (beyond_included)
  pending_cents bigint;
  part_credit bigint[] := array_fill(0::bigint, ARRAY[part_count]);
  part_overage bigint[] := array_fill(0::bigint, ARRAY[part_count]);
  part_denied_by text[] := array_fill(NULL::text, ARRAY[part_count]);
  part_cap_cents bigint[] := array_fill(NULL::bigint, ARRAY[part_count]);
  part_overage_cents bigint[] := array_fill(NULL::bigint, ARRAY[part_count]);
  found_credit_used bigint;
  found_overage_used bigint;
  found_price int;
  found_per int;
  -- per part: the counter it draws on (a position in the counter_* arrays), or why it has none
  part_counter int[] := array_fill(NULL::int, ARRAY[part_count]);
  part_refusal text[] := array_fill(NULL::text, ARRAY[part_count]);
  part_units bigint[] := array_fill(NULL::bigint, ARRAY[part_count]);
  -- per part, set only for admitted parts (in-place writes, no copies)
  admitted_part int[] := array_fill(NULL::int, ARRAY[part_count]);
  admitted_period_start timestamptz[] := array_fill(NULL::timestamptz, ARRAY[part_count]);
  admitted_used_after bigint[] := array_fill(NULL::bigint, ARRAY[part_count]);
  admitted_included bigint[] := array_fill(NULL::bigint, ARRAY[part_count]);
  admitted_credit_units int[] := array_fill(0, ARRAY[part_count]);
  admitted_overage_units int[] := array_fill(0, ARRAY[part_count]);
  admitted_count int := 0;
  -- the counters the batch draws on, one per (org, metric), with used before and after the batch
  counter_keys text[] := '{}';
  counter_orgs text[] := '{}';
  counter_metrics text[] := '{}';
  counter_period_starts timestamptz[] := '{}';
  counter_used bigint[] := '{}';
  counter_used_before bigint[] := '{}';
  counter_included bigint[] := '{}';
  counter_credit_used bigint[] := '{}';
  counter_overage_used bigint[] := '{}';
  counter_price int[] := '{}';
  counter_per int[] := '{}';
  threshold_crossed boolean := false;
  custom_alert_orgs text[];
BEGIN
  IF cardinality(p_request_ids) <> request_count OR cardinality(p_part_requests) <> part_count
     OR cardinality(p_quantities) <> part_count THEN
    RAISE EXCEPTION 'record_usage_parts: arrays of different lengths';
  END IF;
  IF (SELECT count(DISTINCT (pair.org_id, pair.request_id))
        FROM unnest(p_orgs, p_request_ids) pair(org_id, request_id)) <> request_count THEN
    RAISE EXCEPTION 'record_usage_parts: a batch must not repeat an (org, request_id)';
  END IF;
  -- every request has its parts, grouped in request order, each metric once per request
  IF p_part_requests IS DISTINCT FROM (SELECT array_agg(given ORDER BY given) FROM unnest(p_part_requests) given)
     OR (SELECT count(DISTINCT given) FROM unnest(p_part_requests) given) <> request_count
     OR (SELECT min(given) <> 1 OR max(given) <> request_count FROM unnest(p_part_requests) given)
     OR (SELECT count(DISTINCT (given.request_index, given.metric))
           FROM unnest(p_part_requests, p_metrics) given(request_index, metric)) <> part_count THEN
    RAISE EXCEPTION 'record_usage_parts: parts must be grouped by request, in order, each metric once';
  END IF;

  -- The locks, and (read with them, no extra probe) the orgs with alerts of their own.
  SELECT coalesce(array_agg(locked.org_id) FILTER (WHERE locked.custom_alerts), '{}') INTO custom_alert_orgs
    FROM (SELECT subscription.org_id, subscription.custom_alerts FROM subscriptions subscription
           WHERE subscription.org_id = ANY(p_orgs)
           ORDER BY subscription.org_id
             FOR NO KEY UPDATE) locked;

  -- Read after the locks: each request's period and all the parts of any earlier admission.
  FOR request IN
    WITH org_state AS (
      SELECT subscription.org_id, subscription.status AS subscription_status, period.plan_code,
             CASE WHEN period.plan_code = subscription.plan_code THEN subscription.plan_version END AS plan_version,
             period.period_start, period.period_end, period.live, subscription.billing_interval
        FROM subscriptions subscription
       CROSS JOIN LATERAL org_period(subscription, batch_time, p_grace) period
       WHERE subscription.org_id = ANY(p_orgs))
    SELECT given.request_index::int AS request_index, given.org_id, org_state.subscription_status,
           org_state.plan_code, org_state.plan_version, org_state.period_start, org_state.period_end,
           coalesce(org_state.live, false) AS live, org_state.billing_interval,
           earlier.parts AS prior_parts, earlier.metrics AS prior_metrics,
           earlier.quantities AS prior_quantities, earlier.used_after AS prior_used_after,
           earlier.included AS prior_included, earlier.period_start AS prior_period_start,
           earlier.recorded_at AS prior_recorded_at, earlier.credit_units AS prior_credit_units,
           earlier.overage_units AS prior_overage_units
      FROM unnest(p_orgs, p_request_ids) WITH ORDINALITY given(org_id, request_id, request_index)
      LEFT JOIN org_state ON org_state.org_id = given.org_id
      LEFT JOIN LATERAL (
             -- one probe of (org_id, request_id) per request, the window applied to what it
             -- found (OFFSET 0: never a scan of the period by the primary key, as usage_state's)
             SELECT array_agg(event.part::int ORDER BY event.part) AS parts,
                    array_agg(event.metric ORDER BY event.part) AS metrics,
                    array_agg(event.quantity ORDER BY event.part) AS quantities,
                    array_agg(event.used_after ORDER BY event.part) AS used_after,
                    array_agg(event.included ORDER BY event.part) AS included,
                    min(event.period_start) AS period_start, min(event.recorded_at) AS recorded_at,
                    array_agg(event.credit_units ORDER BY event.part) AS credit_units,
                    array_agg(event.overage_units ORDER BY event.part) AS overage_units
               FROM (SELECT probed.* FROM usage_events probed
                      WHERE probed.org_id = given.org_id AND probed.request_id = given.request_id
                     OFFSET 0) event
              WHERE event.recorded_at >= least(coalesce(org_state.period_start, batch_time),
                                               batch_time - interval '24 hours')
                 -- and for the whole of the event's own period and 24 hours after (usage_state's rule)
                 OR EXISTS (SELECT 1 FROM usage_counters own
                             WHERE own.org_id = given.org_id AND own.metric = event.metric
                               AND own.period_start = event.period_start
                               AND own.period_end > batch_time - interval '24 hours')) earlier ON true
     ORDER BY given.request_index
  LOOP
    last_part := first_part;
    WHILE last_part < part_count AND p_part_requests[last_part + 1] = request.request_index LOOP
      last_part := last_part + 1;
    END LOOP;
    request_index := request.request_index;
    subscription_status := request.subscription_status;

    IF request.prior_parts IS NOT NULL THEN
      decided := CASE WHEN request.prior_parts[1] >= 1
                            AND request.prior_metrics = p_metrics[first_part:last_part]
                            AND request.prior_quantities = p_quantities[first_part:last_part]
                      THEN 'replayed' ELSE 'conflict' END;
    ELSIF NOT request.live THEN
      decided := 'inactive';
    ELSE
      -- Each part's counter, or the units to start it with (none: the request is refused, and
      -- nothing is written for it, not even an empty counter).
      decided := 'admitted';
      FOR position IN first_part..last_part LOOP
        counter_key := request.org_id || E'\x1f' || p_metrics[position];
        counter_position := array_position(counter_keys, counter_key);
        IF counter_position IS NULL THEN
          SELECT counter.used, counter.included, counter.credit_used, counter.overage_used,
                 counter.overage_price_cents, counter.overage_per
            INTO found_used, found_included, found_credit_used, found_overage_used, found_price, found_per
            FROM usage_counters counter
           WHERE counter.org_id = request.org_id AND counter.metric = p_metrics[position]
             AND counter.period_start = request.period_start;
          IF FOUND THEN
            counter_keys := counter_keys || counter_key;
            counter_orgs := counter_orgs || request.org_id;
            counter_metrics := counter_metrics || p_metrics[position];
            counter_period_starts := counter_period_starts || request.period_start;
            counter_used := counter_used || found_used;
            counter_used_before := counter_used_before || found_used;
            counter_included := counter_included || found_included;
            counter_credit_used := counter_credit_used || found_credit_used;
            counter_overage_used := counter_overage_used || found_overage_used;
            counter_price := counter_price || found_price;
            counter_per := counter_per || found_per;
            counter_position := cardinality(counter_keys);
          ELSE
            part_units[position] := included_units(request.plan_code, request.plan_version, p_metrics[position]);
            IF part_units[position] IS NULL THEN
              part_refusal[position] := CASE WHEN EXISTS (SELECT 1 FROM features feature
                                                           WHERE feature.code = p_metrics[position]
                                                             AND feature.type = 'metered')
                                             THEN 'not_in_plan' ELSE 'unknown_metric' END;
              decided := 'unrecorded';
            END IF;
          END IF;
        END IF;
        part_counter[position] := counter_position;
      END LOOP;
      -- Start the period's missing counters, then admit only if every part fits.
      IF decided = 'admitted' THEN
        FOR position IN first_part..last_part LOOP
          IF part_counter[position] IS NULL THEN
            SELECT price.price_cents, price.per INTO found_price, found_per
              FROM overage_price_of(request.plan_code, request.plan_version, p_metrics[position],
                                    request.billing_interval) price;
            INSERT INTO usage_counters AS counter (org_id, metric, period_start, period_end, period_key,
                                                   included, used, overage_price_cents, overage_per, updated_at)
            VALUES (request.org_id, p_metrics[position], request.period_start, request.period_end,
                    to_char(request.period_start AT TIME ZONE 'UTC', 'YYYY-MM'), part_units[position], 0,
                    found_price, found_per, batch_time)
            ON CONFLICT (org_id, metric, period_start) DO UPDATE SET updated_at = excluded.updated_at
            RETURNING counter.used, counter.included, counter.credit_used, counter.overage_used,
                      counter.overage_price_cents, counter.overage_per
                 INTO found_used, found_included, found_credit_used, found_overage_used, found_price, found_per;
            counter_keys := counter_keys || (request.org_id || E'\x1f' || p_metrics[position]);
            counter_orgs := counter_orgs || request.org_id;
            counter_metrics := counter_metrics || p_metrics[position];
            counter_period_starts := counter_period_starts || request.period_start;
            counter_used := counter_used || found_used;
            counter_used_before := counter_used_before || found_used;
            counter_included := counter_included || found_included;
            counter_credit_used := counter_credit_used || found_credit_used;
            counter_overage_used := counter_overage_used || found_overage_used;
            counter_price := counter_price || found_price;
            counter_per := counter_per || found_per;
            counter_position := cardinality(counter_keys);
            part_counter[position] := counter_position;
          END IF;
        END LOOP;
        -- Every part must fit: within its included units, or past them as record_usage admits,
        -- with the overage of the request's earlier parts counted under the cap. Nothing is
        -- written until the whole request fits.
        pending_cents := 0;
        FOR position IN first_part..last_part LOOP
          counter_position := part_counter[position];
          part_credit[position] := 0; part_overage[position] := 0;
          IF decided = 'admitted'
             AND counter_used[counter_position] + p_quantities[position] > counter_included[counter_position] THEN
            beyond := beyond_included(request.org_id, p_metrics[position], request.plan_code, request.period_start,
                                      batch_time, p_quantities[position],
                                      counter_included[counter_position]
                                        - (counter_used[counter_position] - counter_credit_used[counter_position]
                                           - counter_overage_used[counter_position]),
                                      0, counter_overage_used[counter_position], counter_price[counter_position],
                                      counter_per[counter_position], pending_cents);
            IF beyond.refusal IS NULL THEN
              part_credit[position] := beyond.credit_units;
              part_overage[position] := beyond.overage_units;
              IF beyond.overage_units > 0 THEN
                pending_cents := pending_cents
                  + overage_charge_cents(counter_overage_used[counter_position] + beyond.overage_units,
                                         counter_price[counter_position], counter_per[counter_position])
                  - overage_charge_cents(counter_overage_used[counter_position],
                                         counter_price[counter_position], counter_per[counter_position]);
              END IF;
            ELSE
              decided := 'denied';
              part_denied_by[position] := beyond.refusal;
              part_cap_cents[position] := beyond.cap_cents;
              part_overage_cents[position] := beyond.overage_cents;
              IF beyond.refusal = 'spend_cap' THEN
                PERFORM notify_spend_cap_reached(request.org_id, p_metrics[position], request.period_start,
                                                 beyond.cap_cents, beyond.overage_cents);
              END IF;
            END IF;
          END IF;
        END LOOP;
      END IF;
    END IF;

    FOR position IN first_part..last_part LOOP
      part := position - first_part + 1;
      outcome := coalesce(part_refusal[position], decided);
      metric := p_metrics[position];
      quantity := p_quantities[position];
      used := NULL; included := NULL; period_start := NULL; period_end := NULL; recorded_at := NULL;
      credit_units := 0; overage_units := 0; denied_by := NULL; cap_cents := NULL; overage_cents := NULL;
      IF decided = 'replayed' THEN
        used := request.prior_used_after[part]; included := request.prior_included[part];
        period_start := request.prior_period_start; recorded_at := request.prior_recorded_at;
        credit_units := request.prior_credit_units[part]; overage_units := request.prior_overage_units[part];
      ELSIF decided IN ('admitted', 'denied') THEN
        counter_position := part_counter[position];
        IF decided = 'admitted' THEN
          counter_used[counter_position] := counter_used[counter_position] + quantity;
          credit_units := part_credit[position]; overage_units := part_overage[position];
          IF part_credit[position] > 0 OR part_overage[position] > 0 THEN
            -- Written now: the batch's next request reads the grants and the org's overage from the tables.
            PERFORM settle_beyond_included(request.org_id, metric, request.period_start, request.period_end,
                                           batch_time, counter_used[counter_position], counter_credit_used[counter_position] + part_credit[position],
                                           part_credit[position],
                                           counter_overage_used[counter_position] + part_overage[position],
                                           counter_overage_used[counter_position], counter_included[counter_position],
                                           counter_price[counter_position], counter_per[counter_position]);
            counter_credit_used[counter_position] := counter_credit_used[counter_position] + part_credit[position];
            counter_overage_used[counter_position] := counter_overage_used[counter_position] + part_overage[position];
          END IF;
          admitted_credit_units[position] := part_credit[position];
          admitted_overage_units[position] := part_overage[position];
          admitted_part[position] := part;
          admitted_period_start[position] := request.period_start;
          admitted_used_after[position] := counter_used[counter_position];
          admitted_included[position] := counter_included[counter_position];
          recorded_at := batch_time;
        END IF;
        used := counter_used[counter_position]; included := counter_included[counter_position];
        period_start := request.period_start; period_end := request.period_end;
        denied_by := part_denied_by[position]; cap_cents := part_cap_cents[position];
        overage_cents := part_overage_cents[position];
      END IF;
      RETURN NEXT;
    END LOOP;
    IF decided = 'admitted' THEN admitted_count := admitted_count + 1; END IF;
    first_part := last_part + 1;
  END LOOP;

  IF admitted_count > 0 THEN
    UPDATE usage_counters counter SET used = written.used, updated_at = batch_time
      FROM unnest(counter_orgs, counter_metrics, counter_period_starts, counter_used, counter_used_before)
           written(org_id, metric, period_start, used, used_before)
     WHERE counter.org_id = written.org_id AND counter.metric = written.metric
       AND counter.period_start = written.period_start AND written.used > written.used_before;

    -- The ledger rows, then the hourly rows summed from them per (org, metric, key): one statement.
    WITH ledger AS (
      INSERT INTO usage_events (org_id, request_id, metric, quantity, period_start, used_after,
                                included, recorded_at, part, credit_units, overage_units, key_id)
      SELECT p_orgs[admitted.request_index], p_request_ids[admitted.request_index], admitted.metric,
             admitted.quantity, admitted.period_start, admitted.used_after, admitted.included,
             batch_time, admitted.part, admitted.credit_units, admitted.overage_units,
             coalesce(p_key_ids[admitted.request_index], '')
        FROM unnest(p_part_requests, p_metrics, p_quantities, admitted_period_start, admitted_used_after,
                    admitted_included, admitted_part, admitted_credit_units, admitted_overage_units)
             admitted(request_index, metric, quantity, period_start, used_after, included, part,
                      credit_units, overage_units)
       WHERE admitted.used_after IS NOT NULL
      RETURNING usage_events.org_id, usage_events.metric, usage_events.key_id, usage_events.quantity)
    INSERT INTO usage_hourly AS hourly (org_id, hour, metric, key_id, quantity)
    SELECT ledger.org_id, date_trunc('hour', batch_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
           ledger.metric, ledger.key_id, sum(ledger.quantity)
      FROM ledger
     GROUP BY ledger.org_id, ledger.metric, ledger.key_id
    ON CONFLICT (org_id, hour, metric, key_id) DO UPDATE SET quantity = hourly.quantity + excluded.quantity;

    FOR counter_position IN 1..cardinality(counter_keys) LOOP
      threshold_crossed := threshold_crossed
                           OR usage_threshold_crossed(counter_used_before[counter_position],
                                                      counter_used[counter_position],
                                                      counter_included[counter_position])
                           OR counter_orgs[counter_position] = ANY(custom_alert_orgs);
    END LOOP;
    IF threshold_crossed THEN
      PERFORM notify_usage_thresholds(counter_orgs, counter_metrics, counter_period_starts, counter_used,
                                      ARRAY(SELECT written.used - written.used_before
                                              FROM unnest(counter_used, counter_used_before)
                                                   WITH ORDINALITY written(used, used_before, position)
                                             ORDER BY written.position));
    END IF;
  END IF;
END $$;

-- The usage write: records a batch of usage requests, possibly of many orgs, in one statement
-- (the app's group commit sends one call per batch). One row comes back per request, idx
-- being its position in the arrays (from 1).
--
-- Invariants:
--  * every writer of an org's usage first locks that org's subscription row; a batch locks all
--    its orgs up front, in sorted order, so concurrent batches and app instances never deadlock;
--  * "seen before" is read after those locks, so a concurrent duplicate is always seen, and it is
--    decided before "fits", so a replay answers the original success even when the quota is full;
--  * a request is admitted whole or denied whole, spending in this order: the included units,
--    then the org's prepaid credits of the feature, then overage when the counter carries an
--    overage price and the org's spend cap allows (beyond_included_given, with the credits and the
--    cap read once per counter of the batch; only asked when
--    used + quantity > included, so plans without credits or overage do no more work than
--    before until their quota is full); the ledger rows (with their credit and overage units)
--    and the counter update commit together, and a denied request writes nothing but, refused for
--    the cap, spend_cap.reached once per period (its request_id stays free);
--  * credits and overage are written once per counter of the batch (settle_beyond_included):
--    the grants' remaining, the counter's credit_used and overage_used, usage.overage_started
--    and an auto top-up run, each once;
--  * a request_id is remembered for its whole period and for 24 hours after;
--  * usage_hourly moves with the counter, in the same transaction (the portal's chart and the
--    usage history), per (org, hour, metric, API key);
--  * each ledger row and hourly row carries the API key the request came under: p_key_ids, one
--    per request ('' or a null array: none). The key is attribution only: it decides nothing,
--    and a replay answers the same whichever key sends it;
--  * a counter that crosses 80% or 100% of its included units (or the org's own percents of the
--    feature, usage_alerts) emits usage.threshold_reached in the same transaction, once per
--    (org, metric, period, threshold) (notify_usage_thresholds); a batch that crosses nothing, of
--    orgs on the default alerts (subscriptions.custom_alerts false, read with the lock), does no
--    more work than before. The org's "credits below" and "overage above" alerts are decided in
--    settle_beyond_included, which only credit and overage admissions reach.
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
                                        p_quantities int[], p_grace interval,
                                        p_key_ids text[] DEFAULT NULL)
RETURNS TABLE(idx int, outcome text, metric text, quantity int, used bigint,
              included bigint, period_start timestamptz, period_end timestamptz,
              recorded_at timestamptz, sub_status text, credit_units int, overage_units int,
              denied_by text, cap_cents bigint, overage_cents bigint, room bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  batch_time timestamptz := now();
  batch_size int := cardinality(p_orgs);
  request record;
  beyond record;
  -- the (org, metric) counter being walked (requests come sorted by org, metric, arrival)
  current_org text;
  current_metric text;
  current_period_start timestamptz;
  current_period_end timestamptz;
  current_plan_code text;
  counter_used bigint;
  counter_included bigint;
  counter_used_before bigint;
  counter_changed boolean := false;
  -- past the included units: the counter's credit and overage units (before and now), its price,
  -- the credits its batch spent (not yet written), and whether the org has none left
  counter_credit_used bigint;
  counter_overage_used bigint;
  counter_overage_used_before bigint;
  counter_price int;
  counter_per int;
  counter_credits_spent bigint := 0;
  counter_out_of_credits boolean := false;
  -- read once per counter, at its first request past the included units (beyond_included_given):
  -- its credits then (NULL: not read yet) and the org's spend cap (spend_cap_of)
  counter_credits bigint;
  counter_cap record;
  -- per input position, set only for admitted requests (in-place writes, no copies)
  admitted_period_start timestamptz[] := array_fill(NULL::timestamptz, ARRAY[batch_size]);
  admitted_used_after bigint[] := array_fill(NULL::bigint, ARRAY[batch_size]);
  admitted_included bigint[] := array_fill(NULL::bigint, ARRAY[batch_size]);
  admitted_credit_units int[] := array_fill(0, ARRAY[batch_size]);
  admitted_overage_units int[] := array_fill(0, ARRAY[batch_size]);
  admitted_count int := 0;
  -- counters to write back, one entry per (org, metric) that admitted something
  written_orgs text[] := '{}';
  written_metrics text[] := '{}';
  written_period_starts timestamptz[] := '{}';
  written_used bigint[] := '{}';
  written_added bigint[] := '{}';
  -- a counter settle_beyond_included wrote (its used with it) is not written again
  written_settled boolean[] := '{}';
  unsettled_count int := 0;
  threshold_crossed boolean := false;
  custom_alert_orgs text[];
BEGIN
  IF (SELECT count(DISTINCT (pair.org_id, pair.request_id))
        FROM unnest(p_orgs, p_request_ids) pair(org_id, request_id)) <> batch_size THEN
    RAISE EXCEPTION 'record_usage: a batch must not repeat an (org, request_id)';
  END IF;

  -- The locks, and (read with them, no extra probe) the orgs with alerts of their own.
  SELECT coalesce(array_agg(locked.org_id) FILTER (WHERE locked.custom_alerts), '{}') INTO custom_alert_orgs
    FROM (SELECT subscription.org_id, subscription.custom_alerts FROM subscriptions subscription
           WHERE subscription.org_id = ANY(p_orgs)
           ORDER BY subscription.org_id
             FOR NO KEY UPDATE) locked;

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
    credit_units := 0; overage_units := 0; denied_by := NULL; cap_cents := NULL; overage_cents := NULL; room := NULL;

    IF request.prior_metric IS NOT NULL THEN
      IF request.prior_part = 0 AND request.prior_metric = request.metric AND request.prior_quantity = request.quantity THEN
        outcome := 'replayed';
        used := request.prior_used_after; included := request.prior_included;
        period_start := request.prior_period_start; recorded_at := request.prior_recorded_at;
        credit_units := request.prior_credit_units; overage_units := request.prior_overage_units;
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
                             OR usage_threshold_crossed(counter_used_before, counter_used, counter_included)
                             OR current_org = ANY(custom_alert_orgs);
        -- Written before the next counter of the same org reads the org's overage (spend_cap_of).
        IF counter_credits_spent > 0 OR counter_overage_used > counter_overage_used_before THEN
          PERFORM settle_beyond_included(current_org, current_metric, current_period_start, current_period_end,
                                         batch_time, counter_used, counter_credit_used, counter_credits_spent,
                                         counter_overage_used, counter_overage_used_before,
                                         counter_included, counter_price, counter_per);
          written_settled := written_settled || true;
        ELSE
          written_settled := written_settled || false;
          unsettled_count := unsettled_count + 1;
        END IF;
      END IF;
      current_org := request.org_id;
      current_metric := request.metric;
      current_period_start := request.period_start;
      current_period_end := request.period_end;
      current_plan_code := request.plan_code;
      counter_changed := false;
      counter_credits_spent := 0;
      counter_out_of_credits := false;
      counter_credits := NULL;
      IF request.counter_used IS NOT NULL THEN
        counter_used := request.counter_used;
        counter_included := request.counter_included;
        counter_credit_used := request.counter_credit_used;
        counter_overage_used := request.counter_overage_used;
        counter_price := request.counter_overage_price;
        counter_per := request.counter_overage_per;
      ELSE
        -- first request of a period: its counter starts with its plan version's units and overage price
        SELECT price.price_cents, price.per INTO counter_price, counter_per
          FROM overage_price_of(request.plan_code, request.plan_version, request.metric, request.billing_interval) price;
        INSERT INTO usage_counters AS counter (org_id, metric, period_start, period_end, period_key,
                                               included, used, overage_price_cents, overage_per, updated_at)
        VALUES (request.org_id, request.metric, request.period_start, request.period_end,
                to_char(request.period_start AT TIME ZONE 'UTC', 'YYYY-MM'),
                request.plan_included, 0, counter_price, counter_per, batch_time)
        ON CONFLICT (org_id, metric, period_start) DO UPDATE SET updated_at = excluded.updated_at
        RETURNING counter.used, counter.included, counter.credit_used, counter.overage_used,
                  counter.overage_price_cents, counter.overage_per
             INTO counter_used, counter_included, counter_credit_used, counter_overage_used,
                  counter_price, counter_per;
      END IF;
      counter_used_before := counter_used;
      counter_overage_used_before := counter_overage_used;
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
    ELSIF counter_price IS NULL AND counter_out_of_credits THEN
      -- this counter's batch already found no credits and no overage: a plain denial
      outcome := 'denied'; denied_by := 'quota';
      used := counter_used; included := counter_included;
      room := counter_included - (counter_used - counter_credit_used - counter_overage_used);
    ELSE
      IF counter_credits IS NULL THEN
        counter_credits := credits_of(request.org_id, request.metric, batch_time);
        IF counter_price IS NOT NULL THEN
          counter_cap := spend_cap_of(request.org_id, current_plan_code, request.period_start, request.metric);
        ELSE
          SELECT false AS capped, NULL::bigint AS cap_cents, 0::bigint AS other_cents INTO counter_cap;
        END IF;
      END IF;
      beyond := beyond_included_given(request.quantity,
                                      counter_included - (counter_used - counter_credit_used - counter_overage_used),
                                      counter_credits - counter_credits_spent, counter_overage_used,
                                      counter_price, counter_per, counter_cap.capped, counter_cap.cap_cents,
                                      counter_cap.other_cents, 0);
      cap_cents := beyond.cap_cents; overage_cents := beyond.overage_cents; room := beyond.room;
      IF beyond.refusal IS NULL THEN
        counter_used := counter_used + request.quantity;
        counter_credit_used := counter_credit_used + beyond.credit_units;
        counter_credits_spent := counter_credits_spent + beyond.credit_units;
        counter_overage_used := counter_overage_used + beyond.overage_units;
        counter_changed := true;
        outcome := 'admitted';
        credit_units := beyond.credit_units; overage_units := beyond.overage_units;
        used := counter_used; included := counter_included; recorded_at := batch_time;
        admitted_period_start[request.batch_index] := request.period_start;
        admitted_used_after[request.batch_index] := counter_used;
        admitted_included[request.batch_index] := counter_included;
        admitted_credit_units[request.batch_index] := beyond.credit_units;
        admitted_overage_units[request.batch_index] := beyond.overage_units;
        admitted_count := admitted_count + 1;
        -- The cap reached: not one more overage unit fits under it.
        IF beyond.overage_units > 0 AND beyond.cap_cents IS NOT NULL
           AND beyond.overage_cents - overage_charge_cents(counter_overage_used, counter_price, counter_per)
               + overage_charge_cents(counter_overage_used + 1, counter_price, counter_per) > beyond.cap_cents THEN
          PERFORM notify_spend_cap_reached(request.org_id, request.metric, request.period_start,
                                           beyond.cap_cents, beyond.overage_cents);
        END IF;
      ELSE
        outcome := 'denied'; denied_by := beyond.refusal;
        used := counter_used; included := counter_included;
        counter_out_of_credits := beyond.credits_left <= 0;
        IF beyond.refusal = 'spend_cap' THEN
          PERFORM notify_spend_cap_reached(request.org_id, request.metric, request.period_start,
                                           beyond.cap_cents, beyond.overage_cents);
        END IF;
      END IF;
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
                         OR usage_threshold_crossed(counter_used_before, counter_used, counter_included)
                         OR current_org = ANY(custom_alert_orgs);
    IF counter_credits_spent > 0 OR counter_overage_used > counter_overage_used_before THEN
      PERFORM settle_beyond_included(current_org, current_metric, current_period_start, current_period_end,
                                     batch_time, counter_used, counter_credit_used, counter_credits_spent,
                                     counter_overage_used, counter_overage_used_before,
                                     counter_included, counter_price, counter_per);
      written_settled := written_settled || true;
    ELSE
      written_settled := written_settled || false;
      unsettled_count := unsettled_count + 1;
    END IF;
  END IF;

  IF unsettled_count > 0 THEN
    UPDATE usage_counters counter SET used = written.used, updated_at = batch_time
      FROM unnest(written_orgs, written_metrics, written_period_starts, written_used, written_settled)
           written(org_id, metric, period_start, used, settled)
     WHERE counter.org_id = written.org_id AND counter.metric = written.metric
       AND counter.period_start = written.period_start AND NOT written.settled;
  END IF;

  IF admitted_count > 0 THEN

    -- The ledger rows, then the hourly rows summed from them per (org, metric, key): one statement.
    WITH ledger AS (
      INSERT INTO usage_events (org_id, request_id, metric, quantity, period_start, used_after,
                                included, recorded_at, credit_units, overage_units, key_id)
      SELECT admitted.org_id, admitted.request_id, admitted.metric, admitted.quantity,
             admitted.period_start, admitted.used_after, admitted.included, batch_time,
             admitted.credit_units, admitted.overage_units, coalesce(p_key_ids[admitted.position], '')
        FROM unnest(p_orgs, p_request_ids, p_metrics, p_quantities, admitted_period_start,
                    admitted_used_after, admitted_included, admitted_credit_units, admitted_overage_units)
             WITH ORDINALITY
             admitted(org_id, request_id, metric, quantity, period_start, used_after, included,
                      credit_units, overage_units, position)
       WHERE admitted.used_after IS NOT NULL
      RETURNING usage_events.org_id, usage_events.metric, usage_events.key_id, usage_events.quantity)
    INSERT INTO usage_hourly AS hourly (org_id, hour, metric, key_id, quantity)
    SELECT ledger.org_id, date_trunc('hour', batch_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
           ledger.metric, ledger.key_id, sum(ledger.quantity)
      FROM ledger
     GROUP BY ledger.org_id, ledger.metric, ledger.key_id
    ON CONFLICT (org_id, hour, metric, key_id) DO UPDATE SET quantity = hourly.quantity + excluded.quantity;

    IF threshold_crossed THEN
      PERFORM notify_usage_thresholds(written_orgs, written_metrics, written_period_starts,
                                      written_used, written_added);
    END IF;
  END IF;
END $$;

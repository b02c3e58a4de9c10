-- The usage write for a batch the caller expects to be only denials and replays (its orgs were
-- full a moment ago): decided from a plain read, without locks or writes. A denial needs
-- used + quantity > included in a committed state and no way past the included units
-- (beyond_included: not enough credits, and no overage price or a spend cap it would go over);
-- used, credit and overage spent only grow within a period, so it stands, as of that read. A
-- replay is of a committed admission. A request that might fit comes back 'undecided' for
-- record_usage. Same output columns as record_usage.
-- Its output columns are what the running app reads, so they keep the names every released app
-- version reads (idx: the request's position in the arrays, from 1; sub_status: the
-- subscription's status); columns are only added. A renamed output would break app processes
-- still on the previous release during a rolling upgrade; a new shape gets a new function name instead.
CREATE OR REPLACE FUNCTION deny_or_replay(p_orgs text[], p_request_ids text[], p_metrics text[],
                                          p_quantities int[], p_grace interval)
RETURNS TABLE(idx int, outcome text, metric text, quantity int, used bigint,
              included bigint, period_start timestamptz, period_end timestamptz,
              recorded_at timestamptz, sub_status text, credit_units int, overage_units int,
              denied_by text, cap_cents bigint, overage_cents bigint, room bigint)
LANGUAGE sql STABLE AS $$
  SELECT state.batch_index,
         CASE WHEN state.prior_metric IS NOT NULL AND state.prior_part = 0 AND state.prior_metric = state.metric
                   AND state.prior_quantity = state.quantity THEN 'replayed'
              WHEN state.prior_metric IS NOT NULL THEN 'conflict'
              WHEN NOT state.live THEN 'inactive'
              WHEN beyond.refusal IS NOT NULL THEN 'denied'
              ELSE 'undecided' END,
         state.metric, state.quantity,
         CASE WHEN state.prior_metric IS NOT NULL THEN state.prior_used_after
              WHEN state.live THEN state.counter_used END,
         CASE WHEN state.prior_metric IS NOT NULL THEN state.prior_included
              WHEN state.live THEN state.counter_included END,
         CASE WHEN state.prior_metric IS NOT NULL THEN state.prior_period_start
              WHEN state.live THEN state.period_start END,
         CASE WHEN state.prior_metric IS NULL AND state.live THEN state.period_end END,
         state.prior_recorded_at,
         state.subscription_status,
         state.prior_credit_units, state.prior_overage_units,
         CASE WHEN state.prior_metric IS NULL THEN beyond.refusal END,
         CASE WHEN state.prior_metric IS NULL THEN beyond.cap_cents END,
         CASE WHEN state.prior_metric IS NULL THEN beyond.overage_cents END,
         CASE WHEN state.prior_metric IS NULL THEN beyond.room END
    FROM usage_state(p_orgs, p_request_ids, p_metrics, p_quantities, p_grace, now()) state
    -- Only for a request the included units do not cover (a one-time filter: otherwise never called).
    LEFT JOIN LATERAL (
           SELECT decided.refusal, decided.cap_cents, decided.overage_cents, decided.room
             FROM beyond_included(state.org_id, state.metric, state.plan_code, state.period_start, now(),
                                  state.quantity, state.counter_included - (state.counter_used - state.counter_credit_used
                                                                            - state.counter_overage_used),
                                  0, state.counter_overage_used, state.counter_overage_price,
                                  state.counter_overage_per, 0) decided
            WHERE state.prior_metric IS NULL AND state.live AND state.counter_used IS NOT NULL
              AND state.counter_used + state.quantity > state.counter_included) beyond ON true
$$;

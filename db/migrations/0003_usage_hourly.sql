CREATE TABLE "usage_hourly" (
	"org_id" text NOT NULL,
	"metric" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"quantity" bigint NOT NULL,
	CONSTRAINT "usage_hourly_org_id_metric_hour_pk" PRIMARY KEY("org_id","metric","hour")
);
--> statement-breakpoint
-- Existing ledger rows, so the chart starts complete.
INSERT INTO usage_hourly (org_id, metric, hour, quantity)
SELECT org_id, metric, date_trunc('hour', recorded_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(quantity)
  FROM usage_events GROUP BY 1, 2, 3;
--> statement-breakpoint
-- 4.2: records a batch of usage requests, possibly of many orgs, in one statement.
--
-- Invariants:
--  * every writer of an org's usage first locks that org's subscription row; a batch locks all
--    its orgs up front, in sorted order, so concurrent batches and app instances never deadlock;
--  * "seen before" is read after those locks, so a concurrent duplicate is always seen, and it is
--    decided before "fits", so a replay answers the original success even when the quota is full;
--  * a request is admitted only if used + quantity <= included; the ledger rows and the counter
--    update commit together, and a denied request writes nothing (its request_id stays free);
--  * a request_id is remembered for its whole period and for 24 hours after;
--  * usage_hourly moves with the counter, in the same transaction (the portal's chart).
-- The caller never sends one (org, request_id) twice in a batch; that is checked.
CREATE OR REPLACE FUNCTION record_usage(p_orgs text[], p_request_ids text[], p_metrics text[],
                                        p_quantities int[], p_grace interval)
RETURNS TABLE(idx int, outcome text, metric text, quantity int, used bigint, included bigint,
              period_start timestamptz, period_end timestamptz, recorded_at timestamptz,
              sub_status text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_now timestamptz := now();
  n int := cardinality(p_orgs);
  it record;
  cur_org text;
  cur_metric text;
  cur_start timestamptz;
  c_used bigint;
  c_incl bigint;
  dirty boolean := false;
  -- per input position, set only for admitted requests (in-place writes, no copies)
  a_start timestamptz[] := array_fill(NULL::timestamptz, ARRAY[n]);
  a_used bigint[] := array_fill(NULL::bigint, ARRAY[n]);
  a_incl bigint[] := array_fill(NULL::bigint, ARRAY[n]);
  admitted int := 0;
  -- counters to write back, one entry per (org, metric) that admitted something
  u_org text[] := '{}';
  u_metric text[] := '{}';
  u_start timestamptz[] := '{}';
  u_used bigint[] := '{}';
  u_added bigint[] := '{}';
  c_before bigint;
BEGIN
  IF (SELECT count(DISTINCT (x.o, x.r)) FROM unnest(p_orgs, p_request_ids) x(o, r)) <> n THEN
    RAISE EXCEPTION 'record_usage: a batch must not repeat an (org, request_id)';
  END IF;

  PERFORM 1 FROM subscriptions s
   WHERE s.org_id = ANY(p_orgs)
   ORDER BY s.org_id
     FOR NO KEY UPDATE;

  -- Read after the locks: period, counter and any earlier admission of each request.
  FOR it IN
    SELECT * FROM usage_state(p_orgs, p_request_ids, p_metrics, p_quantities, p_grace, v_now) v
     ORDER BY v.o, v.m, v.i
  LOOP
    idx := it.i;
    metric := it.m;
    quantity := it.q;
    sub_status := it.sub_status;
    used := NULL; included := NULL; period_start := NULL; period_end := NULL; recorded_at := NULL;

    IF it.d_m IS NOT NULL THEN
      IF it.d_m = it.m AND it.d_q = it.q THEN
        outcome := 'replayed';
        used := it.d_u; included := it.d_i; period_start := it.d_s; recorded_at := it.d_at;
      ELSE
        outcome := 'conflict';
      END IF;
      RETURN NEXT;
      CONTINUE;
    END IF;

    IF NOT it.live THEN
      outcome := 'inactive';
      RETURN NEXT;
      CONTINUE;
    END IF;

    IF cur_org IS DISTINCT FROM it.o OR cur_metric IS DISTINCT FROM it.m THEN
      IF dirty THEN
        u_org := u_org || cur_org; u_metric := u_metric || cur_metric;
        u_start := u_start || cur_start; u_used := u_used || c_used;
        u_added := u_added || (c_used - c_before);
      END IF;
      cur_org := it.o; cur_metric := it.m; cur_start := it.ps; dirty := false;
      IF it.c_used IS NOT NULL THEN
        c_used := it.c_used; c_incl := it.c_incl; c_before := c_used;
      ELSE
        -- first request of a period: its counter starts with the period's plan units
        INSERT INTO usage_counters AS c (org_id, metric, period_start, period_end, period_key,
                                         included, used, updated_at)
        VALUES (it.o, it.m, it.ps, it.pe, to_char(it.ps AT TIME ZONE 'UTC', 'YYYY-MM'),
                coalesce((SELECT u.included FROM plan_units u
                           WHERE u.plan_code = it.plan_code AND u.metric = it.m), 0),
                0, v_now)
        ON CONFLICT (org_id, metric, period_start) DO UPDATE SET updated_at = excluded.updated_at
        RETURNING c.used, c.included INTO c_used, c_incl;
        c_before := c_used;
      END IF;
    END IF;

    period_start := it.ps; period_end := it.pe;
    IF c_used + it.q <= c_incl THEN
      c_used := c_used + it.q;
      dirty := true;
      outcome := 'admitted';
      used := c_used; included := c_incl; recorded_at := v_now;
      a_start[it.i] := it.ps; a_used[it.i] := c_used; a_incl[it.i] := c_incl;
      admitted := admitted + 1;
    ELSE
      outcome := 'denied';
      used := c_used; included := c_incl;
    END IF;
    RETURN NEXT;
  END LOOP;

  IF dirty THEN
    u_org := u_org || cur_org; u_metric := u_metric || cur_metric;
    u_start := u_start || cur_start; u_used := u_used || c_used;
    u_added := u_added || (c_used - c_before);
  END IF;

  IF admitted > 0 THEN
    UPDATE usage_counters c SET used = u.used, updated_at = v_now
      FROM unnest(u_org, u_metric, u_start, u_used) u(o, m, s, used)
     WHERE c.org_id = u.o AND c.metric = u.m AND c.period_start = u.s;

    INSERT INTO usage_hourly AS h (org_id, metric, hour, quantity)
    SELECT u.o, u.m, date_trunc('hour', v_now AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(u.added)
      FROM unnest(u_org, u_metric, u_added) u(o, m, added)
     GROUP BY u.o, u.m
    ON CONFLICT (org_id, metric, hour) DO UPDATE SET quantity = h.quantity + excluded.quantity;

    INSERT INTO usage_events (org_id, request_id, metric, quantity, period_start, used_after,
                              included, recorded_at)
    SELECT o, r, m, q, ps, u, inc, v_now
      FROM unnest(p_orgs, p_request_ids, p_metrics, p_quantities, a_start, a_used, a_incl)
           x(o, r, m, q, ps, u, inc)
     WHERE u IS NOT NULL;
  END IF;
END $$;

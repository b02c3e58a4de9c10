-- The usage engine's SQL: ledger partitions, the period rule, the quota read (4.1) and the
-- batched, exact record (4.2). The invariants are written next to the code that keeps them.

-- Ledger partitions: one per calendar month (UTC) of recorded_at. Retention is a partition
-- drop. The default partition only catches rows outside the prepared months, so an insert
-- never fails; the worker's daily cron keeps two months prepared ahead.
CREATE TABLE "usage_events_default" PARTITION OF "usage_events" DEFAULT;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION ensure_usage_partitions(p_months_ahead int DEFAULT 2) RETURNS void
LANGUAGE plpgsql SET timezone = 'UTC' AS $$
DECLARE
  m timestamptz;
  part text;
BEGIN
  FOR i IN 0..p_months_ahead LOOP
    m := date_trunc('month', now()) + make_interval(months => i);
    part := 'usage_events_' || to_char(m, 'YYYY_MM');
    IF to_regclass(part) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF usage_events FOR VALUES FROM (%L) TO (%L)',
                     part, m, m + interval '1 month');
    END IF;
  END LOOP;
END $$;
--> statement-breakpoint
SELECT ensure_usage_partitions(2);
--> statement-breakpoint

-- The period an org is in at p_now. Boundary rule: once period_end has passed, usage belongs to
-- the next period, with the next period's plan (pending downgrade, or what a trial renews as),
-- even before Stripe's renewal webhook arrives; a subscription set to cancel does not roll.
CREATE OR REPLACE FUNCTION org_period(s subscriptions, p_now timestamptz, p_grace interval,
  OUT plan_code text, OUT status text, OUT period_start timestamptz, OUT period_end timestamptz,
  OUT live boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  plan_code := s.plan_code;
  status := s.status;
  period_start := s.period_start;
  period_end := s.period_end;
  live := s.status IN ('active', 'trialing')
       OR (s.status = 'past_due' AND p_now < s.period_start + p_grace);
  WHILE live AND p_now >= period_end LOOP
    IF s.cancel_at_period_end OR status NOT IN ('active', 'trialing') THEN
      live := false;
      EXIT;
    END IF;
    plan_code := coalesce(s.pending_plan_code,
                          (SELECT p.renews_as FROM plans p WHERE p.code = plan_code),
                          plan_code);
    status := 'active';
    period_start := period_end;
    period_end := ((period_end AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
  END LOOP;
END $$;
--> statement-breakpoint

-- 4.1: the quota of one org and metric, read-only. Returns no row when the org has no
-- subscription. A period with no counter yet has used 0 and its plan's units.
CREATE OR REPLACE FUNCTION quota_of(p_org text, p_metric text, p_grace interval)
RETURNS TABLE(plan_code text, status text, live boolean, period_start timestamptz,
              period_end timestamptz, used bigint, included bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
  s subscriptions;
  p record;
BEGIN
  SELECT * INTO s FROM subscriptions WHERE org_id = p_org;
  IF NOT FOUND THEN RETURN; END IF;
  p := org_period(s, now(), p_grace);
  plan_code := p.plan_code; status := p.status; live := p.live;
  period_start := p.period_start; period_end := p.period_end;
  SELECT c.used, c.included INTO used, included
    FROM usage_counters c
   WHERE c.org_id = p_org AND c.metric = p_metric AND c.period_start = p.period_start;
  IF NOT FOUND THEN
    used := 0;
    included := coalesce((SELECT u.included FROM plan_units u
                           WHERE u.plan_code = p.plan_code AND u.metric = p_metric), 0);
  END IF;
  RETURN NEXT;
END $$;
--> statement-breakpoint

-- The state record_usage decides on, one row per request of a batch: the org's period (boundary
-- rule applied), its counter, and the earlier admission of the same request_id if any.
CREATE OR REPLACE FUNCTION usage_state(p_orgs text[], p_request_ids text[], p_metrics text[],
                                       p_quantities int[], p_grace interval, p_now timestamptz)
RETURNS TABLE(i int, o text, r text, m text, q int, sub_status text, plan_code text,
              ps timestamptz, pe timestamptz, live boolean, c_used bigint, c_incl bigint,
              d_m text, d_q int, d_u bigint, d_i bigint, d_s timestamptz, d_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
  -- plpgsql, not sql: its plan is cached per session instead of re-planned on every call.
  RETURN QUERY
  WITH per AS (
    SELECT s.org_id, s.status AS sub_status, p.plan_code, p.period_start, p.period_end, p.live
      FROM subscriptions s
     CROSS JOIN LATERAL org_period(s, p_now, p_grace) p
     WHERE s.org_id = ANY(p_orgs))
  SELECT x.i::int, x.o, x.r, x.m, x.q,
         per.sub_status, per.plan_code, per.period_start, per.period_end,
         coalesce(per.live, false),
         c.used, c.included,
         e.metric, e.quantity, e.used_after, e.included, e.period_start, e.recorded_at
    FROM unnest(p_orgs, p_request_ids, p_metrics, p_quantities) WITH ORDINALITY x(o, r, m, q, i)
    LEFT JOIN per ON per.org_id = x.o
    LEFT JOIN usage_counters c
           ON c.org_id = x.o AND c.metric = x.m AND c.period_start = per.period_start
    LEFT JOIN LATERAL (
           -- one probe of (org_id, request_id) per request, never a scan of the period
           SELECT ev.metric, ev.quantity, ev.used_after, ev.included, ev.period_start, ev.recorded_at
             FROM usage_events ev
            WHERE ev.org_id = x.o AND ev.request_id = x.r
              AND ev.recorded_at >= least(coalesce(per.period_start, p_now), p_now - interval '24 hours')
            LIMIT 1) e ON true;
END $$;
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
--  * a request_id is remembered for its whole period and for 24 hours after.
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
      END IF;
      cur_org := it.o; cur_metric := it.m; cur_start := it.ps; dirty := false;
      IF it.c_used IS NOT NULL THEN
        c_used := it.c_used; c_incl := it.c_incl;
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
  END IF;

  IF admitted > 0 THEN
    UPDATE usage_counters c SET used = u.used, updated_at = v_now
      FROM unnest(u_org, u_metric, u_start, u_used) u(o, m, s, used)
     WHERE c.org_id = u.o AND c.metric = u.m AND c.period_start = u.s;

    INSERT INTO usage_events (org_id, request_id, metric, quantity, period_start, used_after,
                              included, recorded_at)
    SELECT o, r, m, q, ps, u, inc, v_now
      FROM unnest(p_orgs, p_request_ids, p_metrics, p_quantities, a_start, a_used, a_incl)
           x(o, r, m, q, ps, u, inc)
     WHERE u IS NOT NULL;
  END IF;
END $$;
--> statement-breakpoint

-- 4.2 for a batch the caller expects to be only denials and replays (its orgs were full a moment
-- ago): decided from a plain read, without locks or writes. A denial needs used + quantity >
-- included in a committed state, and used only grows within a period, so it stands; a replay is
-- of a committed admission. A request that might fit comes back 'undecided' for record_usage.
CREATE OR REPLACE FUNCTION deny_or_replay(p_orgs text[], p_request_ids text[], p_metrics text[],
                                          p_quantities int[], p_grace interval)
RETURNS TABLE(idx int, outcome text, metric text, quantity int, used bigint, included bigint,
              period_start timestamptz, period_end timestamptz, recorded_at timestamptz,
              sub_status text)
LANGUAGE sql STABLE AS $$
  SELECT v.i,
         CASE WHEN v.d_m IS NOT NULL AND v.d_m = v.m AND v.d_q = v.q THEN 'replayed'
              WHEN v.d_m IS NOT NULL THEN 'conflict'
              WHEN NOT v.live THEN 'inactive'
              WHEN v.c_used IS NOT NULL AND v.c_used + v.q > v.c_incl THEN 'denied'
              ELSE 'undecided' END,
         v.m, v.q,
         CASE WHEN v.d_m IS NOT NULL THEN v.d_u WHEN v.live THEN v.c_used END,
         CASE WHEN v.d_m IS NOT NULL THEN v.d_i WHEN v.live THEN v.c_incl END,
         CASE WHEN v.d_m IS NOT NULL THEN v.d_s WHEN v.live THEN v.ps END,
         CASE WHEN v.d_m IS NULL AND v.live THEN v.pe END,
         v.d_at,
         v.sub_status
    FROM usage_state(p_orgs, p_request_ids, p_metrics, p_quantities, p_grace, now()) v
$$;

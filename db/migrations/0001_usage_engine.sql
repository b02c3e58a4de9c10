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
LANGUAGE plpgsql STABLE SET timezone = 'UTC' AS $$
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
    period_end := period_end + interval '1 month';
  END LOOP;
END $$;
--> statement-breakpoint

-- 4.1: the quota of one org and metric, read-only. Returns no row when the org has no
-- subscription. A period with no counter yet has used 0 and its plan's units.
CREATE OR REPLACE FUNCTION quota_of(p_org text, p_metric text, p_grace interval)
RETURNS TABLE(plan_code text, status text, live boolean, period_start timestamptz,
              period_end timestamptz, used bigint, included bigint)
LANGUAGE plpgsql STABLE SET timezone = 'UTC' AS $$
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

-- 4.2: records a batch of usage requests, possibly of many orgs, in one statement.
--
-- Invariants:
--  * every writer of an org's usage first locks that org's subscription row, and orgs are
--    locked in sorted order (no deadlock between concurrent batches or app instances);
--  * "seen before" is decided after that lock, so a concurrent duplicate is always seen, and
--    before "fits", so a replay answers the original success even when the quota is now full;
--  * a request is admitted only if used + quantity <= included; the ledger rows and the counter
--    update commit together, and a denied request writes nothing (its request_id stays free);
--  * a request_id is remembered for the whole period and for 24 hours past its end.
-- The caller never sends one (org, request_id) twice in a batch; that is checked.
CREATE OR REPLACE FUNCTION record_usage(p_orgs text[], p_request_ids text[], p_metrics text[],
                                        p_quantities int[], p_grace interval)
RETURNS TABLE(idx int, outcome text, metric text, quantity int, used bigint, included bigint,
              period_start timestamptz, period_end timestamptz, recorded_at timestamptz,
              sub_status text)
LANGUAGE plpgsql SET timezone = 'UTC' AS $$
#variable_conflict use_column
DECLARE
  v_now timestamptz := now();
  v_org text;
  s subscriptions;
  has_sub boolean;
  v_plan text;
  v_start timestamptz;
  v_end timestamptz;
  v_live boolean;
  dups jsonb;
  d jsonb;
  it record;
  c_metric text;
  c_used bigint;
  c_incl bigint;
  c_dirty boolean;
  a_org text[] := '{}';
  a_req text[] := '{}';
  a_metric text[] := '{}';
  a_qty int[] := '{}';
  a_start timestamptz[] := '{}';
  a_used bigint[] := '{}';
  a_incl bigint[] := '{}';
BEGIN
  IF (SELECT count(DISTINCT (x.o, x.r)) FROM unnest(p_orgs, p_request_ids) x(o, r))
     <> cardinality(p_orgs) THEN
    RAISE EXCEPTION 'record_usage: a batch must not repeat an (org, request_id)';
  END IF;

  FOR v_org IN SELECT DISTINCT o FROM unnest(p_orgs) o ORDER BY 1 LOOP
    SELECT * INTO s FROM subscriptions WHERE org_id = v_org FOR NO KEY UPDATE;
    has_sub := FOUND;
    v_plan := NULL; v_start := NULL; v_end := NULL; v_live := false;
    IF has_sub THEN
      SELECT p.plan_code, p.period_start, p.period_end, p.live INTO v_plan, v_start, v_end, v_live
        FROM org_period(s, v_now, p_grace) p;
    END IF;

    SELECT coalesce(jsonb_object_agg(e.request_id, jsonb_build_object(
             'm', e.metric, 'q', e.quantity, 'u', e.used_after, 'i', e.included,
             's', e.period_start, 'at', e.recorded_at)), '{}'::jsonb)
      INTO dups
      FROM usage_events e
     WHERE e.org_id = v_org
       AND e.recorded_at >= least(coalesce(v_start, v_now), v_now - interval '24 hours')
       AND e.request_id IN (SELECT x.r FROM unnest(p_orgs, p_request_ids) x(o, r) WHERE x.o = v_org);

    sub_status := CASE WHEN has_sub THEN s.status END;
    c_metric := NULL;
    c_dirty := false;
    FOR it IN
      SELECT x.i::int AS i, x.r, x.m, x.q
        FROM unnest(p_orgs, p_request_ids, p_metrics, p_quantities) WITH ORDINALITY x(o, r, m, q, i)
       WHERE x.o = v_org
       ORDER BY x.m, x.i
    LOOP
      idx := it.i;
      d := dups -> it.r;
      IF d IS NOT NULL THEN
        IF d->>'m' = it.m AND (d->>'q')::int = it.q THEN
          outcome := 'replayed';
          metric := it.m; quantity := it.q;
          used := (d->>'u')::bigint; included := (d->>'i')::bigint;
          period_start := (d->>'s')::timestamptz; period_end := NULL;
          recorded_at := (d->>'at')::timestamptz;
        ELSE
          outcome := 'conflict';
          metric := d->>'m'; quantity := (d->>'q')::int;
          used := NULL; included := NULL; period_start := NULL; period_end := NULL; recorded_at := NULL;
        END IF;
        RETURN NEXT;
        CONTINUE;
      END IF;

      IF NOT v_live THEN
        outcome := 'inactive';
        metric := it.m; quantity := it.q;
        used := NULL; included := NULL; period_start := NULL; period_end := NULL; recorded_at := NULL;
        RETURN NEXT;
        CONTINUE;
      END IF;

      IF c_metric IS DISTINCT FROM it.m THEN
        IF c_dirty THEN
          UPDATE usage_counters c SET used = c_used, updated_at = v_now
           WHERE c.org_id = v_org AND c.metric = c_metric AND c.period_start = v_start;
          c_dirty := false;
        END IF;
        c_metric := it.m;
        SELECT c.used, c.included INTO c_used, c_incl
          FROM usage_counters c
         WHERE c.org_id = v_org AND c.metric = it.m AND c.period_start = v_start;
        IF NOT FOUND THEN
          c_used := 0;
          c_incl := coalesce((SELECT u.included FROM plan_units u
                               WHERE u.plan_code = v_plan AND u.metric = it.m), 0);
          INSERT INTO usage_counters AS c (org_id, metric, period_start, period_end, period_key,
                                           included, used, updated_at)
          VALUES (v_org, it.m, v_start, v_end,
                  to_char(v_start, 'YYYY-MM'), c_incl, 0, v_now)
          ON CONFLICT (org_id, metric, period_start)
          DO UPDATE SET updated_at = excluded.updated_at
          RETURNING c.used, c.included INTO c_used, c_incl;
        END IF;
      END IF;

      metric := it.m; quantity := it.q;
      period_start := v_start; period_end := v_end;
      IF c_used + it.q <= c_incl THEN
        c_used := c_used + it.q;
        c_dirty := true;
        outcome := 'admitted';
        used := c_used; included := c_incl; recorded_at := v_now;
        a_org := a_org || v_org; a_req := a_req || it.r; a_metric := a_metric || it.m;
        a_qty := a_qty || it.q; a_start := a_start || v_start;
        a_used := a_used || c_used; a_incl := a_incl || c_incl;
      ELSE
        outcome := 'denied';
        used := c_used; included := c_incl; recorded_at := NULL;
      END IF;
      RETURN NEXT;
    END LOOP;

    IF c_dirty THEN
      UPDATE usage_counters c SET used = c_used, updated_at = v_now
       WHERE c.org_id = v_org AND c.metric = c_metric AND c.period_start = v_start;
    END IF;
  END LOOP;

  IF cardinality(a_org) > 0 THEN
    INSERT INTO usage_events (org_id, request_id, metric, quantity, period_start, used_after,
                              included, recorded_at)
    SELECT o, r, m, q, ps, u, inc, v_now
      FROM unnest(a_org, a_req, a_metric, a_qty, a_start, a_used, a_incl) x(o, r, m, q, ps, u, inc);
  END IF;
END $$;

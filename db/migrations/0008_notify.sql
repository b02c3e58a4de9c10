CREATE TABLE "audit_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "audit_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"org_id" text,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"target" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"request_id" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "email_outbox" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"event_id" text NOT NULL,
	"to_address" text NOT NULL,
	"subject" text NOT NULL,
	"text_body" text NOT NULL,
	"html_body" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"type" text NOT NULL,
	"data" jsonb NOT NULL,
	"dedupe_key" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "org_settings" (
	"org_id" text PRIMARY KEY NOT NULL,
	"billing_email" text,
	"muted_emails" text[] DEFAULT '{}'::text[] NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_thresholds" (
	"org_id" text NOT NULL,
	"metric" text NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"threshold" integer NOT NULL,
	"event_id" text NOT NULL,
	"reached_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "usage_thresholds_org_id_metric_period_start_threshold_pk" PRIMARY KEY("org_id","metric","period_start","threshold")
);
--> statement-breakpoint
CREATE TABLE "webhook_attempts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "webhook_attempts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"delivery_id" text NOT NULL,
	"attempt" integer NOT NULL,
	"attempted_at" timestamp with time zone DEFAULT now() NOT NULL,
	"succeeded" boolean NOT NULL,
	"response_code" integer,
	"latency_ms" integer NOT NULL,
	"response_body" text,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"endpoint_id" text NOT NULL,
	"event_id" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"last_response_code" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_endpoints" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"url" text NOT NULL,
	"event_types" text[] NOT NULL,
	"secret" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"disabled_reason" text,
	"failing_since" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "email_outbox" ADD CONSTRAINT "email_outbox_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "org_settings" ADD CONSTRAINT "org_settings_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_thresholds" ADD CONSTRAINT "usage_thresholds_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_delivery_id_webhook_deliveries_id_fk" FOREIGN KEY ("delivery_id") REFERENCES "public"."webhook_deliveries"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_endpoint_id_webhook_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."webhook_endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_event_id_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD CONSTRAINT "webhook_endpoints_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_log_org_at_idx" ON "audit_log" USING btree ("org_id","at");--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "audit_log" USING btree ("at");--> statement-breakpoint
CREATE UNIQUE INDEX "email_outbox_event" ON "email_outbox" USING btree ("event_id");--> statement-breakpoint
CREATE INDEX "email_outbox_created_idx" ON "email_outbox" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "events_dedupe_key" ON "events" USING btree ("dedupe_key");--> statement-breakpoint
CREATE INDEX "events_org_created_idx" ON "events" USING btree ("org_id","created_at");--> statement-breakpoint
CREATE INDEX "webhook_attempts_delivery_idx" ON "webhook_attempts" USING btree ("delivery_id");--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_deliveries_endpoint_event" ON "webhook_deliveries" USING btree ("endpoint_id","event_id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_org_idx" ON "webhook_deliveries" USING btree ("org_id","created_at");--> statement-breakpoint
CREATE INDEX "webhook_endpoints_org_idx" ON "webhook_endpoints" USING btree ("org_id");--> statement-breakpoint
-- The audit log is append-only: nothing updates or deletes a record.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END $$;
--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
--> statement-breakpoint

-- Emits one event: the row and the job that fans it out to webhooks and email commit together
-- with the caller's transaction (an outbox), so an event exists exactly when what it reports
-- happened. With a dedupe key, a second emission of the same fact is a no-op (answers NULL).
CREATE OR REPLACE FUNCTION emit_event(p_org text, p_type text, p_data jsonb,
                                      p_dedupe_key text DEFAULT NULL, p_id text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v_id text := coalesce(p_id, 'evt_' || replace(gen_random_uuid()::text, '-', ''));
BEGIN
  INSERT INTO events (id, org_id, type, data, dedupe_key, created_at)
  VALUES (v_id, p_org, p_type, p_data, p_dedupe_key, now())
  ON CONFLICT (dedupe_key) DO NOTHING;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  PERFORM graphile_worker.add_job('dispatch_event', json_build_object('eventId', v_id),
                                  max_attempts := 25, job_key := 'event:' || v_id);
  RETURN v_id;
END $$;
--> statement-breakpoint

-- Did a counter going from p_before to p_after cross 80% or 100% of p_included?
CREATE OR REPLACE FUNCTION usage_threshold_crossed(p_before bigint, p_after bigint, p_included bigint)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT p_included > 0
     AND ((p_before * 100 < 80 * p_included AND p_after * 100 >= 80 * p_included)
          OR (p_before < p_included AND p_after >= p_included))
$$;
--> statement-breakpoint

-- Called by record_usage only when a counter of its batch crossed a threshold, after the
-- counters are written and while the batch's subscription locks are held. The primary key of
-- usage_thresholds makes each (org, metric, period, threshold) emit once, whatever the batch,
-- the app process or a later change of the included units.
CREATE OR REPLACE FUNCTION notify_usage_thresholds(p_orgs text[], p_metrics text[], p_starts timestamptz[],
                                                   p_used bigint[], p_added bigint[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v_event text;
BEGIN
  FOR r IN
    SELECT u.o, u.m, u.s, c.period_end, c.included, u.used, t.pct
      FROM unnest(p_orgs, p_metrics, p_starts, p_used, p_added) u(o, m, s, used, added)
      JOIN usage_counters c ON c.org_id = u.o AND c.metric = u.m AND c.period_start = u.s
     CROSS JOIN (VALUES (80), (100)) t(pct)
     WHERE c.included > 0
       AND (u.used - u.added) * 100 < t.pct * c.included
       AND u.used * 100 >= t.pct * c.included
  LOOP
    v_event := 'evt_' || replace(gen_random_uuid()::text, '-', '');
    INSERT INTO usage_thresholds (org_id, metric, period_start, threshold, event_id, reached_at)
    VALUES (r.o, r.m, r.s, r.pct, v_event, now())
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
      PERFORM emit_event(r.o, 'usage.threshold_reached',
                         jsonb_build_object('metric', r.m, 'threshold', r.pct, 'used', r.used,
                                            'included', r.included,
                                            'periodStart', to_char(r.s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                                            'periodEnd', to_char(r.period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
                         NULL, v_event);
    END IF;
  END LOOP;
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
--  * a request_id is remembered for its whole period and for 24 hours after;
--  * usage_hourly moves with the counter, in the same transaction (the portal's chart);
--  * a counter that crosses 80% or 100% of its included units emits usage.threshold_reached in
--    the same transaction, once per (org, metric, period, threshold) (notify_usage_thresholds);
--    a batch that crosses nothing does no more work than before.
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
  crossed boolean := false;
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
        crossed := crossed OR usage_threshold_crossed(c_before, c_used, c_incl);
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
    crossed := crossed OR usage_threshold_crossed(c_before, c_used, c_incl);
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

    IF crossed THEN
      PERFORM notify_usage_thresholds(u_org, u_metric, u_start, u_used, u_added);
    END IF;
  END IF;
END $$;

-- Emits one event: the row and the job that fans it out to webhooks and email commit together
-- with the caller's transaction (an outbox), so an event exists exactly when what it reports
-- happened. With a dedupe key, a second emission of the same fact is a no-op (answers NULL).
CREATE OR REPLACE FUNCTION emit_event(p_org text, p_type text, p_data jsonb,
                                      p_dedupe_key text DEFAULT NULL, p_id text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  new_event_id text := coalesce(p_id, 'evt_' || replace(gen_random_uuid()::text, '-', ''));
BEGIN
  INSERT INTO events (id, org_id, type, data, dedupe_key, created_at)
  VALUES (new_event_id, p_org, p_type, p_data, p_dedupe_key, now())
  ON CONFLICT (dedupe_key) DO NOTHING;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  PERFORM graphile_worker.add_job('dispatch_event', json_build_object('eventId', new_event_id),
                                  max_attempts := 25, job_key := 'event:' || new_event_id);
  RETURN new_event_id;
END $$;

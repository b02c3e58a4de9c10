-- Ledger partitions: one per calendar month (UTC) of recorded_at, created p_months_ahead months
-- ahead. The default partition only catches rows outside the prepared months, so an insert never
-- fails; the worker's daily cron keeps two months prepared ahead (under an advisory lock, since
-- two runs at once would both try to create the same month).
CREATE OR REPLACE FUNCTION ensure_usage_partitions(p_months_ahead int DEFAULT 2) RETURNS void
LANGUAGE plpgsql SET timezone = 'UTC' AS $$
DECLARE
  month_start timestamptz;
  partition_name text;
BEGIN
  FOR month_offset IN 0..p_months_ahead LOOP
    month_start := date_trunc('month', now()) + make_interval(months => month_offset);
    partition_name := 'usage_events_' || to_char(month_start, 'YYYY_MM');
    IF to_regclass(partition_name) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF usage_events FOR VALUES FROM (%L) TO (%L)',
                     partition_name, month_start, month_start + interval '1 month');
    END IF;
  END LOOP;
END $$;

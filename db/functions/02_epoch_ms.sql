-- Milliseconds since the Unix epoch of a timestamp, truncated to the millisecond, as float8: the
-- number the app's Date takes, exact (a whole number, far below 2^53). The hot statements return
-- their timestamps through it, on every row: extract(epoch ...) computes in numeric and cost five
-- times as much; date_part's float alone could land a hair below a whole millisecond, so the
-- timestamp is truncated to the millisecond first and the product rounded. A plain SQL function:
-- Postgres inlines it into the caller's query.
CREATE OR REPLACE FUNCTION epoch_ms(p_at timestamptz)
RETURNS float8 LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT round(date_part('epoch', date_trunc('milliseconds', p_at)) * 1000)
$$;

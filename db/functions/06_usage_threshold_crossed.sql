-- Did a counter going from p_before to p_after cross 80% or 100% of p_included?
CREATE OR REPLACE FUNCTION usage_threshold_crossed(p_before bigint, p_after bigint, p_included bigint)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT p_included > 0
     AND ((p_before * 100 < 80 * p_included AND p_after * 100 >= 80 * p_included)
          OR (p_before < p_included AND p_after >= p_included))
$$;

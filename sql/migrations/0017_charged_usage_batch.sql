-- OCS schema, version 17: what a batch's sessions were already charged, in
-- one call.
--
-- A RADIUS accounting request carries running totals; its charge reads
-- what its session was already charged (ocs_charged_usage, 0009 and 0010)
-- in the load's round trip, appended to the load as one UNION ALL branch
-- per request. Round trip 1 is a simple query (BEGIN and the load in one
-- string), planned at every call, and a batch of a dozen Interims and
-- Stops made it a dozen branches: planning that statement was 7 % of
-- PostgreSQL's CPU samples under the RADIUS benchmark once the user
-- lookup no longer re-planned (perf, docs/benchmarks.md), against a few
-- hundredths of a millisecond for the load alone.
--
-- ocs_charged_usage_batch(p_idx, p_sessions) returns ocs_charged_usage's
-- row for each session, in order, with the request's position p_idx[i] in
-- front, in ocs_charge_load_batch's columns: one branch for the whole
-- batch. It is VOLATILE for the reason 0010 gives: its statement takes its
-- snapshot after the load (the branch before it) has locked the accounts.
-- Each session's usage records are found by key (usage_records_session),
-- whatever the statistics (0015). ocs_charged_usage stays, for a charge
-- alone.
CREATE FUNCTION ocs_charged_usage_batch(p_idx int[], p_sessions text[])
RETURNS TABLE (idx int, tag text, n1 bigint, n2 bigint, n3 bigint, n4 bigint, n5 bigint,
               n6 bigint, t1 text, t2 text)
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
SET jit = off
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
BEGIN
  RETURN QUERY
  SELECT p_idx[g.i], 'charged'::text, c.n1, c.n2, c.n3, c.n4, c.n5, NULL::bigint, NULL::text, NULL::text
    FROM generate_subscripts(p_sessions, 1) AS g(i)
   CROSS JOIN LATERAL (
         SELECT coalesce(sum(u.input_octets), 0)::bigint AS n1, coalesce(sum(u.output_octets), 0)::bigint AS n2,
                coalesce(sum(coalesce(u.total_octets, coalesce(u.input_octets, 0) + coalesce(u.output_octets, 0))),
                         0)::bigint AS n3,
                coalesce(sum(u.seconds), 0)::bigint AS n4,
                coalesce((SELECT (s.credit_state = 'exhausted')::int FROM charging_sessions s
                           WHERE s.id = p_sessions[g.i]), 0)::bigint AS n5
           FROM usage_records u WHERE u.session_id = p_sessions[g.i]) c
   ORDER BY g.i;
END $$;

INSERT INTO schema_version (version) VALUES (17);

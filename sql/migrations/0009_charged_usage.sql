-- OCS schema, version 9: what a RADIUS session was already charged, read by
-- a function (its plan cached) in the charge's first round trip.
--
-- RADIUS reports running totals; the store charges them less the sums of
-- the session's usage records (ChargeRequest::running_totals,
-- src/store/pg_charging.cpp). That read was a separate prepared statement
-- and round trip per accounting packet; appended to the load as plain SQL
-- it was planned afresh at every call, which cost as much as the round trip
-- saved. As a function, its one statement is planned once per connection.
-- One row in ocs_charge_load's columns:
--   tag 'charged', n1 input octets, n2 output octets, n3 total octets
--   (total_octets, else input + output), n4 seconds, n5 1 when the
--   session's credit_state is 'exhausted' (refused or hotlined), else 0.
CREATE FUNCTION ocs_charged_usage(p_session text)
RETURNS TABLE (tag text, n1 bigint, n2 bigint, n3 bigint, n4 bigint, n5 bigint,
               n6 bigint, t1 text, t2 text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY
  SELECT 'charged'::text, coalesce(sum(u.input_octets), 0)::bigint, coalesce(sum(u.output_octets), 0)::bigint,
         coalesce(sum(coalesce(u.total_octets, coalesce(u.input_octets, 0) + coalesce(u.output_octets, 0))), 0)::bigint,
         coalesce(sum(u.seconds), 0)::bigint,
         coalesce((SELECT (s.credit_state = 'exhausted')::int FROM charging_sessions s WHERE s.id = p_session), 0)::bigint,
         NULL::bigint, NULL::text, NULL::text
    FROM usage_records u WHERE u.session_id = p_session;
END $$;

INSERT INTO schema_version (version) VALUES (9);

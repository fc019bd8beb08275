-- OCS schema, version 16: a RADIUS Start's attach finds its session by key,
-- whatever the table statistics say.
--
-- ocs_attach_clients (version 14) updated the sessions of a batch in one
-- statement, joining the requests (jsonb_to_recordset, which the planner
-- counts as 100 rows) to charging_sessions on id, with state = 'open' among
-- the conditions. After an ANALYZE of a nearly empty charging_sessions (a
-- fresh installation; the benchmark's VACUUM ANALYZE between phases) the
-- planner counted a few dozen open sessions and chose to walk all of them
-- through the partial index charging_sessions_expiry (whose predicate is
-- state = 'open'), matching each against every request, instead of one
-- primary-key lookup per request; the connection kept that plan while the
-- sessions grew, and the walk also visits the index entries of sessions
-- closed since the last vacuum. Version 15's enable_seqscan = off does not
-- prevent it: that walk is an index scan. Found with pg_stat_statements
-- under the RADIUS benchmark: the attach took 2.3 ms a call, about a sixth
-- of PostgreSQL's time, with 14,000 index entries to walk
-- (docs/benchmarks.md). A plan made with fresh statistics looks the
-- sessions up by key.
--
-- Each request now updates its session by primary key, one statement per
-- request in a loop: an equality on the primary key is the cheapest plan
-- for any statistics. A batch carries a handful of Starts, so the loop
-- costs little; the effects, conditions and result (the idx of each
-- attached request) are version 14's, and the caller's contract is
-- unchanged. The charge path's plan test adds 2,000 other open sessions
-- after an ANALYZE of the empty tables and bounds the rows the charges read.
CREATE OR REPLACE FUNCTION ocs_attach_clients(p_requests jsonb)
RETURNS SETOF int LANGUAGE plpgsql
SET jit = off
SET enable_seqscan = off
AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT x.idx, x.session, x.user_name, x.client, x.now
             FROM jsonb_to_recordset(p_requests) AS x(idx int, session text, user_name text, client jsonb, now bigint)
  LOOP
    UPDATE charging_sessions s
       SET client_info = s.client_info || jsonb_strip_nulls(coalesce(r.client, '{}'::jsonb)),
           last_seen = to_timestamp(r.now)
     WHERE s.id = r.session AND s.state = 'open' AND s.protocol = 'radius' AND s.credit_state <> 'exhausted'
       AND (r.user_name IS NULL
            OR EXISTS (SELECT 1 FROM subscriber_identities i
                        WHERE i.subscriber_id = s.subscriber_id AND i.kind = 'username' AND i.value = r.user_name));
    IF FOUND THEN
      RETURN NEXT r.idx;
    END IF;
  END LOOP;
END $$;

INSERT INTO schema_version (version) VALUES (16);

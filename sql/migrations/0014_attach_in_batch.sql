-- OCS schema, version 14: a RADIUS Start's client details are written in
-- the group commit's transaction.
--
-- An Accounting-Start of a session its Access-Request opened with a grant
-- charges nothing: it records what the NAS says now (User-Name,
-- Acct-Session-Id, Framed-IP-Address) for CoA/Disconnect. That was one
-- UPDATE in a transaction of its own (ocs-radiusd's prepared statement
-- rad_attach_client), with its own commit and WAL flush, one per RADIUS
-- session. On the 2-core benchmark (docs/benchmarks.md), leaving that
-- UPDATE out raised ocs-radiusd's sessions/s by more than a third; moving
-- it into the group commit gained about a tenth (eight alternating runs).
--
-- ocs_attach_clients(p_requests) does the same for any number of sessions
-- in one statement, so that ocs-radiusd's group commit can put the Starts
-- into the transaction (and the one commit) of the charges running with
-- them (src/store/pg_charging.cpp, ChargeRequest::attach_only). One element
-- of p_requests: idx (returned when attached), session, user_name (or
-- null), client (an object merged into client_info, nulls dropped), now
-- (epoch seconds, the new last_seen). A session is attached when it is
-- open, RADIUS, not refused credit, and, with a user_name, owned by the
-- subscriber with that username; otherwise its idx is not returned and the
-- caller charges a Start instead. The conditions are rad_attach_client's.
--
-- As in the batch functions (0011, 0012), the planner counts 100 rows for
-- jsonb_to_recordset: hash and merge joins are off so that the update stays
-- a key lookup per session, and JIT is off.
CREATE FUNCTION ocs_attach_clients(p_requests jsonb)
RETURNS SETOF int LANGUAGE plpgsql
SET jit = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
BEGIN
  RETURN QUERY
  UPDATE charging_sessions s
     SET client_info = s.client_info || jsonb_strip_nulls(coalesce(r.client, '{}'::jsonb)),
         last_seen = to_timestamp(r.now)
    FROM jsonb_to_recordset(p_requests) AS r(idx int, session text, user_name text, client jsonb, now bigint)
   WHERE s.id = r.session AND s.state = 'open' AND s.protocol = 'radius' AND s.credit_state <> 'exhausted'
     AND (r.user_name IS NULL
          OR EXISTS (SELECT 1 FROM subscriber_identities i
                      WHERE i.subscriber_id = s.subscriber_id AND i.kind = 'username' AND i.value = r.user_name))
  RETURNING r.idx;
END $$;

INSERT INTO schema_version (version) VALUES (14);

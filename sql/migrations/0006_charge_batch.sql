-- OCS schema, version 6: many charging requests in one transaction.
--
-- PgChargingStore::charge_batch (src/store/pg_charging.cpp) charges a batch
-- of requests (the Gy workers' gy.batch_max) in one transaction and one
-- commit, in two round trips whatever the batch size:
--   1. "BEGIN; SELECT * FROM ocs_charge_load_batch(...)": lock every account
--      the batch touches, in subscriber_id order, then the rows of
--      ocs_charge_load for each request, tagged with its position;
--   2. "SELECT ocs_charge_apply(...); ... SELECT ocs_charge_apply(...);
--      COMMIT": every request's effects, then one commit (one WAL flush).
-- Between the two, ocs::evaluate decides each request in the process. The
-- caller puts at most one writing request per subscriber and per session in
-- one batch (the others wait for the next one), so every request still sees
-- the effects of the ones before it. ocs_charge_load and ocs_charge_apply
-- are unchanged; a batch of one is charged by them alone, as before.

---------------------------------------------------------------------------
-- ocs_charge_load_batch: the requests as parallel arrays (1-based). Request
-- i is (p_kinds[i], p_sessions[i], p_keys[i]); its identities, in order, are
-- the (p_id_kinds[j], p_id_values[j]) with p_id_req[j] = i. Returns the rows
-- of ocs_charge_load(request i) with idx = i, request after request.
---------------------------------------------------------------------------
CREATE FUNCTION ocs_charge_load_batch(p_kinds text[], p_sessions text[], p_keys text[],
                                      p_id_req int[], p_id_kinds text[], p_id_values text[])
RETURNS TABLE (idx int, tag text, n1 bigint, n2 bigint, n3 bigint, n4 bigint, n5 bigint,
               n6 bigint, t1 text, t2 text)
LANGUAGE plpgsql AS $$
DECLARE
  i int;
  v_subs bigint[];
BEGIN
  -- (a) every subscriber the batch names, found as ocs_charge_load finds
  -- them (one index lookup per request), then (b) their accounts locked in
  -- one statement, in subscriber_id order: two batches never wait for each
  -- other in a cycle. (Two statements, so that the lock is an index scan of
  -- a known list: joined in one statement, the planner chose a sequential
  -- scan of accounts.) The per-request FOR UPDATE below then finds its row
  -- already locked by this transaction.
  SELECT array_agg(DISTINCT x.sub) INTO v_subs
    FROM (SELECT CASE WHEN p_kinds[g.r] IN ('update', 'terminate')
                      THEN (SELECT s.subscriber_id FROM charging_sessions s WHERE s.id = p_sessions[g.r])
                      ELSE (SELECT si.subscriber_id
                              FROM unnest(p_id_req, p_id_kinds, p_id_values) WITH ORDINALITY
                                     AS k(req, kind, value, n)
                              JOIN subscriber_identities si ON si.kind = k.kind AND si.value = k.value
                             WHERE k.req = g.r
                             ORDER BY k.n LIMIT 1)
                 END AS sub
            FROM generate_subscripts(p_kinds, 1) AS g(r)) x
   WHERE x.sub IS NOT NULL;
  PERFORM 1 FROM accounts a WHERE a.subscriber_id = ANY (v_subs) ORDER BY a.subscriber_id FOR UPDATE;

  -- (c)-(d) for each request, in order: the same function as one request.
  FOR i IN 1 .. coalesce(cardinality(p_kinds), 0) LOOP
    RETURN QUERY
      SELECT i, l.tag, l.n1, l.n2, l.n3, l.n4, l.n5, l.n6, l.t1, l.t2
        FROM ocs_charge_load(
               p_kinds[i], p_sessions[i], p_keys[i],
               coalesce((SELECT array_agg(k.kind ORDER BY k.n)
                           FROM unnest(p_id_req, p_id_kinds) WITH ORDINALITY AS k(req, kind, n)
                          WHERE k.req = i), '{}'::text[]),
               coalesce((SELECT array_agg(k.value ORDER BY k.n)
                           FROM unnest(p_id_req, p_id_values) WITH ORDINALITY AS k(req, value, n)
                          WHERE k.req = i), '{}'::text[])) AS l;
  END LOOP;
END $$;

INSERT INTO schema_version (version) VALUES (6);

-- OCS schema, version 12: a batch's reads in three statements, whatever its
-- size.
--
-- ocs_charge_load_batch (version 6) locked the batch's accounts, then called
-- ocs_charge_load once per request: each call found the subscriber again,
-- took the lock it already held, and ran three or four statements of its
-- own (about 0.16 ms per request under the RADIUS benchmark, against
-- about 0.3 ms for the writes after version 11). It now finds every request's subscriber in
-- one statement, locks their accounts in a second, finds them again after
-- the lock (a session or an identity may have changed hands meanwhile; a new
-- owner's account is then locked too, as ocs_charge_load did), and reads
-- everything else for all the requests in a third.
--
-- The rows, their order per request and their meaning are those of
-- ocs_charge_load (documented in 0002_charge_round_trips.sql and
-- 0007_charge_cost.sql), request after request, each tagged with its
-- position: 'no_owner'; 'no_account'; 'replay'; or 'account', then
-- 'session' (when the session row exists and the request is not an event),
-- and, unless the session is another subscriber's open one or an Update or
-- Terminate finds none open, 'subscriber', the subscriber's buckets
-- (consumption order), this session's reservations and their bucket holds.
-- A charge alone still calls ocs_charge_load; a new store test compares the
-- two (tests/store/charging_store_test.cpp).
--
-- The planner's estimates here are as blind as in ocs_charge_apply_batch
-- (version 11), where they bought JIT compilation on every call: 1,000 rows
-- for generate_subscripts, 100 per unnest. JIT, hash and merge joins are
-- therefore off inside the function too (a precaution, not measured here),
-- and generic plans stay forced (version 7).

---------------------------------------------------------------------------
-- ocs_batch_owners: the subscriber of each request of a batch (NULL when
-- none), as ocs_charge_load finds it: the session's owner for an Update or
-- Terminate, else the first of the request's identities found.
---------------------------------------------------------------------------
CREATE FUNCTION ocs_batch_owners(p_kinds text[], p_sessions text[], p_id_req int[],
                                 p_id_kinds text[], p_id_values text[])
RETURNS bigint[] LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET jit = off
AS $$
BEGIN
  -- PL/pgSQL, not SQL: a SQL function's query is planned at every call.
  RETURN (
    SELECT coalesce(array_agg(x.sub ORDER BY x.r), '{}'::bigint[])
      FROM (SELECT g.r,
                   CASE WHEN p_kinds[g.r] IN ('update', 'terminate')
                        THEN (SELECT s.subscriber_id FROM charging_sessions s WHERE s.id = p_sessions[g.r])
                        ELSE (SELECT si.subscriber_id
                                FROM unnest(p_id_req, p_id_kinds, p_id_values) WITH ORDINALITY
                                       AS k(req, kind, value, n)
                                JOIN subscriber_identities si ON si.kind = k.kind AND si.value = k.value
                               WHERE k.req = g.r
                               ORDER BY k.n LIMIT 1)
                   END AS sub
              FROM generate_subscripts(p_kinds, 1) AS g(r)) x);
END $$;

---------------------------------------------------------------------------
-- ocs_charge_load_batch: the same arguments and rows as version 6.
---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION ocs_charge_load_batch(p_kinds text[], p_sessions text[], p_keys text[],
                                                 p_id_req int[], p_id_kinds text[], p_id_values text[])
RETURNS TABLE (idx int, tag text, n1 bigint, n2 bigint, n3 bigint, n4 bigint, n5 bigint,
               n6 bigint, t1 text, t2 text)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET jit = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
  v_before bigint[];
  v_subs bigint[];
  v_config bigint;
BEGIN
  -- (a) every request's subscriber, then (b) their accounts locked in one
  -- statement, in subscriber_id order: two batches never wait for each
  -- other in a cycle.
  v_before := ocs_batch_owners(p_kinds, p_sessions, p_id_req, p_id_kinds, p_id_values);
  PERFORM 1 FROM accounts a WHERE a.subscriber_id = ANY (v_before) ORDER BY a.subscriber_id FOR UPDATE;
  -- (a) again, after the lock; an owner that changed meanwhile is locked too.
  v_subs := ocs_batch_owners(p_kinds, p_sessions, p_id_req, p_id_kinds, p_id_values);
  IF v_subs IS DISTINCT FROM v_before THEN
    PERFORM 1 FROM accounts a
     WHERE a.subscriber_id = ANY (v_subs) AND NOT a.subscriber_id = ANY (array_remove(v_before, NULL))
     ORDER BY a.subscriber_id FOR UPDATE;
  END IF;
  SELECT c.version INTO v_config FROM config_version c;

  -- (c) replays and (d) everything else, for every request, after the lock.
  RETURN QUERY
  WITH q AS (
         SELECT g.i::int AS i, p_kinds[g.i] AS kind, p_sessions[g.i] AS session, p_keys[g.i] AS key,
                v_subs[g.i] AS sub,
                -- An event holds nothing: every reservation of the subscriber is elsewhere.
                CASE WHEN p_kinds[g.i] = 'event' THEN NULL ELSE p_sessions[g.i] END AS own
           FROM generate_subscripts(p_kinds, 1) AS g(i)),
       st AS (
         SELECT q.*, a.subscriber_id IS NOT NULL AS has_account, a.balance, a.credit_limit,
                a.currency::text AS currency,
                (SELECT e.outcome FROM charging_events e
                  WHERE e.session_id = q.session AND e.request_key = q.key) AS outcome,
                cs.subscriber_id AS session_owner, cs.state = 'open' AS session_open,
                s.plan_id, coalesce(s.policy_id, p.policy_id) AS policy_id, s.external_id, s.status
           FROM q
           LEFT JOIN accounts a ON a.subscriber_id = q.sub
           LEFT JOIN charging_sessions cs ON q.kind <> 'event' AND cs.id = q.session
           LEFT JOIN subscribers s ON s.id = q.sub
           LEFT JOIN plans p ON p.id = s.plan_id),
       f AS (
         SELECT st.*, l.loaded,
                -- Past the session row: not another subscriber's open
                -- session, and an Update or Terminate found its session open.
                l.loaded
                  AND NOT (st.kind <> 'event' AND coalesce(st.session_open AND st.session_owner <> st.sub, false))
                  AND NOT (st.kind IN ('update', 'terminate') AND NOT coalesce(st.session_open, false)) AS go,
                st.kind <> 'event' AND coalesce(st.session_open, false) AS open
           FROM st
          CROSS JOIN LATERAL (SELECT st.sub IS NOT NULL AND st.has_account AND st.outcome IS NULL AS loaded) l)
  SELECT x.i, x.tag, x.n1, x.n2, x.n3, x.n4, x.n5, x.n6, x.t1, x.t2
    FROM (
      SELECT f.i, 'no_owner'::text AS tag, NULL::bigint AS n1, NULL::bigint AS n2, NULL::bigint AS n3,
             NULL::bigint AS n4, NULL::bigint AS n5, NULL::bigint AS n6, NULL::text AS t1, NULL::text AS t2,
             0 AS o1, NULL::numeric AS o2, 0::bigint AS o3
        FROM f WHERE f.sub IS NULL
      UNION ALL
      SELECT f.i, 'no_account', f.sub, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0
        FROM f WHERE f.sub IS NOT NULL AND NOT f.has_account
      UNION ALL
      SELECT f.i, 'replay', NULL, NULL, NULL, NULL, NULL, NULL, f.outcome, NULL, 0, NULL, 0
        FROM f WHERE f.sub IS NOT NULL AND f.has_account AND f.outcome IS NOT NULL
      UNION ALL
      SELECT f.i, 'account', f.sub, f.balance, f.credit_limit,
             (SELECT coalesce(sum(r.money), 0)::bigint FROM reservations r
               WHERE r.subscriber_id = f.sub AND r.session_id IS DISTINCT FROM f.own),
             v_config, NULL, f.currency, NULL, 1, NULL, 0
        FROM f WHERE f.loaded
      UNION ALL
      SELECT f.i, 'session', f.session_owner, CASE WHEN f.session_open THEN 1 ELSE 0 END::bigint,
             NULL, NULL, NULL, NULL, NULL, NULL, 2, NULL, 0
        FROM f WHERE f.loaded AND f.kind <> 'event' AND f.session_owner IS NOT NULL
      UNION ALL
      SELECT f.i, 'subscriber', f.plan_id, f.policy_id, NULL, NULL, NULL, NULL, f.external_id, f.status,
             3, NULL, 0
        FROM f WHERE f.go AND f.plan_id IS NOT NULL
      UNION ALL
      -- Buckets in consumption order, with the units other sessions hold.
      SELECT f.i, 'bucket', b.id, b.rating_group, b.remaining, coalesce(h.units, 0)::bigint,
             extract(epoch FROM b.valid_from)::bigint, extract(epoch FROM b.valid_until)::bigint,
             b.unit_family, NULL, 4, extract(epoch FROM b.valid_until), b.id
        FROM f
        JOIN buckets b ON b.subscriber_id = f.sub
        LEFT JOIN LATERAL (SELECT sum((x->>'units')::bigint) AS units
                             FROM reservations r CROSS JOIN LATERAL jsonb_array_elements(r.bucket_holds) x
                            WHERE r.subscriber_id = f.sub AND r.session_id IS DISTINCT FROM f.own
                              AND (x->>'bucket')::bigint = b.id) h ON true
       WHERE f.go
      UNION ALL
      SELECT f.i, 'reservation', r.rating_group, r.granted_units, r.money,
             extract(epoch FROM r.granted_at)::bigint, extract(epoch FROM r.tariff_change_at)::bigint,
             NULL, r.unit, NULL, 5, r.rating_group, 0
        FROM f JOIN reservations r ON r.session_id = f.session
       WHERE f.go AND f.open
      UNION ALL
      SELECT f.i, 'hold', r.rating_group, (h.value->>'bucket')::bigint, (h.value->>'units')::bigint,
             NULL, NULL, NULL, NULL, NULL, 6, r.rating_group, h.ordinality
        FROM f JOIN reservations r ON r.session_id = f.session
       CROSS JOIN LATERAL jsonb_array_elements(r.bucket_holds) WITH ORDINALITY h
       WHERE f.go AND f.open
    ) x
   ORDER BY x.i, x.o1, x.o2 NULLS LAST, x.o3;
END $$;

INSERT INTO schema_version (version) VALUES (12);

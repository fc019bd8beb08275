-- OCS schema, version 7: less PostgreSQL CPU per charge.
--
-- A profile of schema version 6 (docs/benchmarks.md, "Where the time goes",
-- 2026-11-23) with pg_stat_statements (track = all, track_planning = on),
-- auto_explain (nested statements) and perf on the backends found, per
-- charge, about 1.5 ms of PostgreSQL CPU, spread thinly: executor start-up of
-- the functions' statements about 16 % of it, commit (WAL flush) 12 %,
-- parsing and planning 11 %, after-trigger (foreign key) checks 8 %, CHECK
-- constraints 4 %. Three statements stood out, all of them in the loads, and
-- are changed here; nothing else is:
--   * the subscriber of an Initial or an Event was found by joining
--     unnest(identities) with subscriber_identities. PL/pgSQL never settled
--     on a generic plan for it: it was planned afresh at every call (0.19 ms
--     of planning, then 0.15 ms of execution). The identities are now tried
--     one by one, in the same order, by a plain index lookup whose plan is
--     cached (0.07 ms);
--   * the buckets, reservations and holds were read by one statement of
--     three branches (a join, an aggregate of the other sessions' holds, a
--     sort) even for a subscriber without buckets, the common case: costly
--     to start even when it returns nothing. The single-row read now
--     also says whether the subscriber has a bucket; without one, only this
--     session's reservations and holds are read (nothing for an event).
--   * ocs_charge_load_batch's first two statements (find the subscribers,
--     lock their accounts) take arrays, and PL/pgSQL kept planning them
--     afresh at every call too (about 0.4 ms per batch). Their generic plans
--     are the same index lookups, so the function now runs with
--     plan_cache_mode = force_generic_plan (which also holds for the
--     ocs_charge_load calls inside it: all of them are index lookups).
-- The rows returned, their order, the lock (the account row FOR UPDATE,
-- taken before the replay check) and the functions' signatures are those
-- of versions 3 and 6 (documented in 0002_charge_round_trips.sql and
-- 0006_charge_batch.sql); ocs_charge_apply is unchanged.

---------------------------------------------------------------------------
-- ocs_charge_load
---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION ocs_charge_load(p_kind text, p_session text, p_key text,
                                           p_id_kinds text[], p_id_values text[])
RETURNS TABLE (tag text, n1 bigint, n2 bigint, n3 bigint, n4 bigint, n5 bigint,
               n6 bigint, t1 text, t2 text)
LANGUAGE plpgsql AS $$
DECLARE
  v_by_session boolean := p_kind IN ('update', 'terminate');
  -- An event holds nothing: every reservation of the subscriber is elsewhere.
  v_own text := CASE WHEN p_kind = 'event' THEN NULL ELSE p_session END;
  v_sub bigint;
  v_balance bigint;
  v_limit bigint;
  v_currency text;
  v_st record;
  v_open boolean := false;
  i int;
BEGIN
  -- (a) the subscriber, then (b) the lock that serialises every charging
  -- operation of one subscriber. The identities are tried one by one, in
  -- order, each by a plain index lookup: a statement whose plan PL/pgSQL
  -- caches (the join with unnest() of version 3 was planned afresh at every
  -- call). The first identity found wins, as before.
  IF v_by_session THEN
    SELECT s.subscriber_id INTO v_sub FROM charging_sessions s WHERE s.id = p_session;
  ELSE
    FOR i IN 1 .. coalesce(cardinality(p_id_kinds), 0) LOOP
      SELECT si.subscriber_id INTO v_sub
        FROM subscriber_identities si
       WHERE si.kind = p_id_kinds[i] AND si.value = p_id_values[i];
      EXIT WHEN v_sub IS NOT NULL;
    END LOOP;
  END IF;
  IF v_sub IS NULL THEN
    tag := 'no_owner';
    RETURN NEXT;
    RETURN;
  END IF;
  SELECT a.balance, a.credit_limit, a.currency INTO v_balance, v_limit, v_currency
    FROM accounts a WHERE a.subscriber_id = v_sub
     FOR UPDATE;
  IF NOT FOUND THEN
    tag := 'no_account';
    n1 := v_sub;
    RETURN NEXT;
    RETURN;
  END IF;

  -- (c) replay, and (d) every single-row read, in one statement after the
  -- lock (so a duplicate that waited sees the answer).
  SELECT (SELECT e.outcome FROM charging_events e
           WHERE e.session_id = p_session AND e.request_key = p_key) AS outcome,
         (SELECT coalesce(sum(r.money), 0)::bigint FROM reservations r
           WHERE r.subscriber_id = v_sub AND r.session_id IS DISTINCT FROM v_own) AS held,
         (SELECT c.version FROM config_version c) AS config_version,
         EXISTS (SELECT 1 FROM buckets b WHERE b.subscriber_id = v_sub) AS has_buckets,
         cs.subscriber_id AS session_owner, cs.state = 'open' AS session_open,
         s.plan_id, coalesce(s.policy_id, p.policy_id) AS policy_id, s.external_id, s.status
    INTO v_st
    FROM (SELECT 1) AS one
    LEFT JOIN charging_sessions cs ON p_kind <> 'event' AND cs.id = p_session
    LEFT JOIN (subscribers s JOIN plans p ON p.id = s.plan_id) ON s.id = v_sub;

  IF v_st.outcome IS NOT NULL THEN
    tag := 'replay';
    t1 := v_st.outcome;
    RETURN NEXT;
    RETURN;
  END IF;

  tag := 'account'; n1 := v_sub; n2 := v_balance; n3 := v_limit; n4 := v_st.held;
  n5 := v_st.config_version; t1 := v_currency;
  RETURN NEXT;
  n1 := NULL; n2 := NULL; n3 := NULL; n4 := NULL; n5 := NULL; t1 := NULL;

  IF p_kind <> 'event' THEN
    IF v_st.session_owner IS NOT NULL THEN
      tag := 'session'; n1 := v_st.session_owner;
      n2 := CASE WHEN v_st.session_open THEN 1 ELSE 0 END;
      RETURN NEXT;
      n1 := NULL; n2 := NULL;
      IF v_st.session_open AND v_st.session_owner <> v_sub THEN
        RETURN;  -- another subscriber's open session: refused by the caller
      END IF;
      v_open := v_st.session_open;
    END IF;
    IF v_by_session AND NOT v_open THEN
      RETURN;  -- UnknownSession
    END IF;
  END IF;

  IF v_st.plan_id IS NOT NULL THEN
    tag := 'subscriber'; n1 := v_st.plan_id; n2 := v_st.policy_id;
    t1 := v_st.external_id; t2 := v_st.status;
    RETURN NEXT;
  END IF;

  -- Buckets (consumption order), then this session's reservations and
  -- their holds (in bucket_holds order), in one statement. Most subscribers
  -- have no bucket: then the bucket half (a join, an aggregate over the other
  -- sessions' holds and a sort, costly to start even when it returns
  -- nothing) is left out, and an event needs no statement at all.
  IF v_st.has_buckets THEN
    RETURN QUERY
      SELECT q.tag, q.n1, q.n2, q.n3, q.n4, q.n5, q.n6, q.t1, q.t2
        FROM (
          SELECT 'bucket'::text AS tag, b.id AS n1, b.rating_group AS n2, b.remaining AS n3,
                 coalesce(h.units, 0)::bigint AS n4,
                 extract(epoch FROM b.valid_from)::bigint AS n5,
                 extract(epoch FROM b.valid_until)::bigint AS n6,
                 b.unit_family AS t1, NULL::text AS t2,
                 0 AS o1, extract(epoch FROM b.valid_until) AS o2, b.id AS o3
            FROM buckets b
            LEFT JOIN (SELECT (x->>'bucket')::bigint AS bucket, sum((x->>'units')::bigint) AS units
                         FROM reservations r CROSS JOIN LATERAL jsonb_array_elements(r.bucket_holds) x
                        WHERE r.subscriber_id = v_sub AND r.session_id IS DISTINCT FROM v_own
                        GROUP BY 1) h ON h.bucket = b.id
           WHERE b.subscriber_id = v_sub
          UNION ALL
          SELECT 'reservation'::text, r.rating_group, r.granted_units, r.money,
                 extract(epoch FROM r.granted_at)::bigint, extract(epoch FROM r.tariff_change_at)::bigint,
                 NULL::bigint, r.unit, NULL::text,
                 1, r.rating_group::numeric, 0::bigint
            FROM reservations r WHERE v_open AND r.session_id = p_session
          UNION ALL
          SELECT 'hold'::text, r.rating_group, (h.value->>'bucket')::bigint, (h.value->>'units')::bigint,
                 NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, NULL::text,
                 2, r.rating_group::numeric, h.ordinality
            FROM reservations r
            CROSS JOIN LATERAL jsonb_array_elements(r.bucket_holds) WITH ORDINALITY h
           WHERE v_open AND r.session_id = p_session
        ) q
       ORDER BY q.o1, q.o2 NULLS LAST, q.o3;
  ELSIF v_open THEN
    RETURN QUERY
      SELECT q.tag, q.n1, q.n2, q.n3, q.n4, q.n5, q.n6, q.t1, q.t2
        FROM (
          SELECT 'reservation'::text AS tag, r.rating_group AS n1, r.granted_units AS n2,
                 r.money AS n3, extract(epoch FROM r.granted_at)::bigint AS n4,
                 extract(epoch FROM r.tariff_change_at)::bigint AS n5,
                 NULL::bigint AS n6, r.unit AS t1, NULL::text AS t2,
                 1 AS o1, r.rating_group AS o2, 0::bigint AS o3
            FROM reservations r WHERE r.session_id = p_session
          UNION ALL
          SELECT 'hold'::text, r.rating_group, (h.value->>'bucket')::bigint, (h.value->>'units')::bigint,
                 NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, NULL::text,
                 2, r.rating_group, h.ordinality
            FROM reservations r
            CROSS JOIN LATERAL jsonb_array_elements(r.bucket_holds) WITH ORDINALITY h
           WHERE r.session_id = p_session
        ) q
       ORDER BY q.o1, q.o2, q.o3;
  END IF;
END $$;


---------------------------------------------------------------------------
-- ocs_charge_load_batch: the same body, generic plans.
---------------------------------------------------------------------------
ALTER FUNCTION ocs_charge_load_batch(text[], text[], text[], int[], text[], text[])
  SET plan_cache_mode = force_generic_plan;

INSERT INTO schema_version (version) VALUES (7);

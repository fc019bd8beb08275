-- OCS schema, version 3: the same charge, in fewer statements.
--
-- A profile of schema version 2 (docs/benchmarks.md, 2026-11-22 "fewer
-- statements") found PostgreSQL's CPU mostly in PL/pgSQL running one SPI
-- statement after another (executor start-up and shutdown for each), about
-- 21 statements per Gy update plus 5 foreign-key checks and a trigger call.
-- This version returns and writes exactly the same rows with:
--   ocs_charge_load   3 statements (was 9): lookup and lock in one; replay
--                     check and every single-row read in one; buckets,
--                     reservations and holds in one;
--   ocs_charge_apply  about 5 statements for an update (was 12): debits and
--                     usage records set-based, a reservation replaced in
--                     place (one HOT update instead of DELETE + INSERT), a
--                     Terminate's close folded into the session update;
--   notify triggers   WHEN clauses, so an UPDATE that notifies nothing (every
--                     debit) no longer calls PL/pgSQL nor queues an
--                     after-trigger event;
--   fillfactor        free space on the pages of accounts and reservations,
--                     whose updates change no indexed column, so they stay
--                     HOT (no new index entries, less WAL). Takes effect for
--                     pages written from now on (VACUUM FULL to repack).
-- Function signatures and the rows of ocs_charge_load are unchanged; their
-- documentation is in 0002_charge_round_trips.sql.

---------------------------------------------------------------------------
-- Notification triggers: the same conditions as ocs_notify_account's own,
-- checked before calling it.
---------------------------------------------------------------------------
DROP TRIGGER accounts_notify ON accounts;
CREATE TRIGGER accounts_notify AFTER UPDATE ON accounts
  FOR EACH ROW
  WHEN (NEW.balance > OLD.balance OR NEW.credit_limit > OLD.credit_limit)
  EXECUTE FUNCTION ocs_notify_account();

DROP TRIGGER subscribers_notify ON subscribers;
CREATE TRIGGER subscribers_notify AFTER UPDATE ON subscribers
  FOR EACH ROW
  WHEN (NEW.status IS DISTINCT FROM OLD.status OR NEW.plan_id IS DISTINCT FROM OLD.plan_id
        OR NEW.policy_id IS DISTINCT FROM OLD.policy_id)
  EXECUTE FUNCTION ocs_notify_account();

DROP TRIGGER buckets_notify ON buckets;
CREATE TRIGGER buckets_notify AFTER INSERT ON buckets
  FOR EACH ROW EXECUTE FUNCTION ocs_notify_account();
CREATE TRIGGER buckets_notify_update AFTER UPDATE ON buckets
  FOR EACH ROW
  WHEN (NEW.remaining > OLD.remaining OR NEW.valid_until IS DISTINCT FROM OLD.valid_until)
  EXECUTE FUNCTION ocs_notify_account();

---------------------------------------------------------------------------
-- Room for HOT updates: every charge updates its account's balance and
-- replaces its reservations' values, none of them indexed.
---------------------------------------------------------------------------
ALTER TABLE accounts SET (fillfactor = 70);
ALTER TABLE reservations SET (fillfactor = 70);
ALTER TABLE buckets SET (fillfactor = 80);

---------------------------------------------------------------------------
-- ocs_charge_load: the rows of version 2, in the same order.
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
BEGIN
  -- (a) the subscriber and (b) the lock that serialises every charging
  -- operation of one subscriber, in one statement: the subscriber is found
  -- (an InitPlan) before the account row is locked.
  IF v_by_session THEN
    SELECT a.subscriber_id, a.balance, a.credit_limit, a.currency
      INTO v_sub, v_balance, v_limit, v_currency
      FROM accounts a
     WHERE a.subscriber_id = (SELECT s.subscriber_id FROM charging_sessions s WHERE s.id = p_session)
       FOR UPDATE OF a;
  ELSE
    SELECT a.subscriber_id, a.balance, a.credit_limit, a.currency
      INTO v_sub, v_balance, v_limit, v_currency
      FROM accounts a
     WHERE a.subscriber_id = (SELECT si.subscriber_id
                                FROM unnest(p_id_kinds, p_id_values) WITH ORDINALITY AS k(kind, value, n)
                                JOIN subscriber_identities si ON si.kind = k.kind AND si.value = k.value
                               ORDER BY k.n LIMIT 1)
       FOR UPDATE OF a;
  END IF;
  IF NOT FOUND THEN
    -- Rare: which of the two is missing?
    IF v_by_session THEN
      SELECT s.subscriber_id INTO v_sub FROM charging_sessions s WHERE s.id = p_session;
    ELSE
      SELECT si.subscriber_id INTO v_sub
        FROM unnest(p_id_kinds, p_id_values) WITH ORDINALITY AS k(kind, value, n)
        JOIN subscriber_identities si ON si.kind = k.kind AND si.value = k.value
       ORDER BY k.n LIMIT 1;
    END IF;
    IF v_sub IS NULL THEN
      tag := 'no_owner';
    ELSE
      tag := 'no_account';
      n1 := v_sub;
    END IF;
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
  -- their holds (in bucket_holds order), in one statement.
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
END $$;

---------------------------------------------------------------------------
-- ocs_charge_apply: the same effects and ledger rows (in the same order) as
-- version 2, in fewer statements.
---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION ocs_charge_apply(
  p_subscriber bigint, p_currency text, p_session text, p_key text, p_kind text,
  p_session_write text, p_protocol text, p_credit_state text, p_origin_host text,
  p_origin_realm text, p_nas_address text, p_now bigint, p_expires bigint, p_refused jsonb,
  p_debits jsonb, p_released bigint[], p_reservations jsonb, p_close_reason text,
  p_outcome text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_balance bigint;   -- after every debit of this request
  v_total bigint;
  v_missing text;
  v_closed boolean := false;
  r record;
BEGIN
  -- The session row, before the reservations that reference it. A
  -- Terminate's close is folded into its update (the same final row).
  IF p_session_write = 'open' THEN
    INSERT INTO charging_sessions (id, subscriber_id, protocol, credit_state, origin_host,
                                   origin_realm, nas_address, last_request_key, created_at,
                                   last_seen, expires_at, client_info)
    VALUES (p_session, p_subscriber, p_protocol, p_credit_state, p_origin_host, p_origin_realm,
            p_nas_address, p_key, to_timestamp(p_now), to_timestamp(p_now), to_timestamp(p_expires),
            jsonb_build_object('exhausted_rating_groups', p_refused))
    ON CONFLICT (id) DO UPDATE SET subscriber_id = EXCLUDED.subscriber_id,
      protocol = EXCLUDED.protocol, state = 'open', credit_state = EXCLUDED.credit_state,
      client_info = EXCLUDED.client_info,
      origin_host = EXCLUDED.origin_host, origin_realm = EXCLUDED.origin_realm,
      nas_address = EXCLUDED.nas_address, last_request_key = EXCLUDED.last_request_key,
      last_seen = EXCLUDED.last_seen, expires_at = EXCLUDED.expires_at,
      closed_at = NULL, close_reason = NULL;
  ELSIF p_session_write = 'touch' THEN
    UPDATE charging_sessions SET credit_state = p_credit_state, last_request_key = p_key,
      last_seen = to_timestamp(p_now), expires_at = to_timestamp(p_expires),
      client_info = client_info || jsonb_build_object('exhausted_rating_groups', p_refused),
      origin_host = coalesce(p_origin_host, origin_host),
      origin_realm = coalesce(p_origin_realm, origin_realm),
      nas_address = coalesce(p_nas_address, nas_address),
      state = CASE WHEN p_close_reason IS NULL THEN state ELSE 'closed' END,
      closed_at = CASE WHEN p_close_reason IS NULL THEN closed_at ELSE to_timestamp(p_now) END,
      close_reason = coalesce(p_close_reason, close_reason)
    WHERE id = p_session;
    v_closed := p_close_reason IS NOT NULL;
  END IF;

  IF jsonb_array_length(p_debits) > 0 THEN
    -- The balance, once for all debits (each cost >= 0: the ledger's CHECK).
    UPDATE accounts a SET balance = a.balance - d.total, updated_at = now()
      FROM (SELECT sum(x.cost)::bigint AS total
              FROM jsonb_to_recordset(p_debits) AS x(cost bigint)) d
     WHERE a.subscriber_id = p_subscriber AND d.total <> 0
    RETURNING a.balance, d.total INTO v_balance, v_total;
    IF v_total IS NULL THEN
      v_total := 0;
      SELECT a.balance INTO v_balance FROM accounts a WHERE a.subscriber_id = p_subscriber;
    END IF;

    -- Buckets, a bucket debited twice by its sum.
    IF jsonb_path_exists(p_debits, '$[*].buckets[*]') THEN
      WITH u AS (SELECT (b.value->>'bucket')::bigint AS bucket, sum((b.value->>'units')::bigint) AS units,
                        min(d.n * 1000000 + b.n) AS first
                   FROM jsonb_array_elements(p_debits) WITH ORDINALITY d(value, n)
                  CROSS JOIN LATERAL jsonb_array_elements(d.value->'buckets') WITH ORDINALITY b(value, n)
                  GROUP BY 1),
           done AS (UPDATE buckets bk SET remaining = bk.remaining - u.units FROM u
                     WHERE bk.id = u.bucket AND bk.subscriber_id = p_subscriber
                    RETURNING bk.id)
      SELECT u.bucket::text INTO v_missing FROM u
       WHERE NOT EXISTS (SELECT 1 FROM done WHERE done.id = u.bucket)
       ORDER BY u.first LIMIT 1;
      IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION 'bucket % vanished', v_missing USING ERRCODE = 'OC002';
      END IF;
    END IF;

    -- A debit ledger row for each debit that costs money (balance_after as
    -- if applied one by one), and a usage record for each debit.
    WITH d AS (
           SELECT x.*, (SELECT coalesce(sum((b->>'units')::bigint), 0)
                          FROM jsonb_array_elements(x.buckets) b)::bigint AS bucket_units
             FROM ROWS FROM (jsonb_to_recordset(p_debits) AS (
                    rating_group bigint, unit text, units bigint, cost bigint, usage_start bigint,
                    input_octets bigint, output_octets bigint, total_octets bigint, seconds bigint,
                    events bigint, buckets jsonb)) WITH ORDINALITY AS x),
         l AS (
           INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, session_id,
                               request_key, rating_group)
           SELECT p_subscriber, 'debit', -d.cost, p_currency,
                  v_balance + v_total - sum(d.cost) OVER (ORDER BY d.ordinality), p_session, p_key,
                  d.rating_group
             FROM d WHERE d.cost <> 0 ORDER BY d.ordinality)
    INSERT INTO usage_records (session_id, request_key, subscriber_id, rating_group, unit, units,
                               input_octets, output_octets, total_octets, seconds, events, cost,
                               bucket_units, currency, usage_start)
    SELECT p_session, p_key, p_subscriber, d.rating_group, d.unit, d.units, d.input_octets,
           d.output_octets, d.total_octets, d.seconds, d.events, d.cost, d.bucket_units, p_currency,
           to_timestamp(d.usage_start)
      FROM d ORDER BY d.ordinality;
  END IF;

  IF v_balance IS NULL AND (coalesce(cardinality(p_released), 0) > 0
                            OR jsonb_array_length(p_reservations) > 0 OR p_close_reason IS NOT NULL) THEN
    SELECT a.balance INTO v_balance FROM accounts a WHERE a.subscriber_id = p_subscriber;
  END IF;

  -- Released rating groups (in the order given), then new reservations,
  -- each replacing in place, with a release row, the rating group's old one.
  IF coalesce(cardinality(p_released), 0) > 0 THEN
    WITH gone AS (DELETE FROM reservations WHERE session_id = p_session
                     AND rating_group = ANY (p_released)
                  RETURNING rating_group, money)
    INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, session_id,
                        request_key, rating_group)
    SELECT p_subscriber, 'release', -money, p_currency, v_balance, p_session, p_key, rating_group
      FROM gone WHERE money <> 0 ORDER BY array_position(p_released, rating_group);
  END IF;
  FOR r IN SELECT * FROM jsonb_to_recordset(p_reservations) AS x(
             rating_group bigint, unit text, granted_units bigint, money bigint, bucket_holds jsonb,
             granted_at bigint, tariff_change_at bigint) LOOP
    WITH prev AS (SELECT o.money FROM reservations o
                  WHERE o.session_id = p_session AND o.rating_group = r.rating_group),
         put AS (INSERT INTO reservations AS t (session_id, rating_group, subscriber_id, unit,
                                                granted_units, money, bucket_holds, granted_at,
                                                tariff_change_at)
                 VALUES (p_session, r.rating_group, p_subscriber, r.unit, r.granted_units, r.money,
                         r.bucket_holds, to_timestamp(r.granted_at), to_timestamp(r.tariff_change_at))
                 ON CONFLICT (session_id, rating_group) DO UPDATE SET
                   subscriber_id = EXCLUDED.subscriber_id, unit = EXCLUDED.unit,
                   granted_units = EXCLUDED.granted_units, money = EXCLUDED.money,
                   bucket_holds = EXCLUDED.bucket_holds, granted_at = EXCLUDED.granted_at,
                   tariff_change_at = EXCLUDED.tariff_change_at)
    INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, session_id,
                        request_key, rating_group)
    SELECT p_subscriber, z.kind, z.amount, p_currency, v_balance, p_session, p_key, r.rating_group
      FROM (SELECT 0 AS k, 'release' AS kind, -prev.money AS amount FROM prev WHERE prev.money <> 0
            UNION ALL
            SELECT 1, 'reserve', r.money WHERE r.money <> 0) z
     ORDER BY z.k;
  END LOOP;

  IF p_close_reason IS NOT NULL THEN
    WITH gone AS (DELETE FROM reservations WHERE session_id = p_session
                  RETURNING rating_group, money)
    INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, session_id,
                        request_key, rating_group)
    SELECT p_subscriber, 'release', -money, p_currency, v_balance, p_session, p_key, rating_group
      FROM gone WHERE money <> 0;
    IF NOT v_closed THEN
      UPDATE charging_sessions SET state = 'closed', closed_at = to_timestamp(p_now),
        close_reason = p_close_reason
      WHERE id = p_session;
    END IF;
  END IF;

  -- (g) the answer, under the request's idempotency key
  INSERT INTO charging_events (session_id, request_key, subscriber_id, kind, outcome)
  VALUES (p_session, p_key, p_subscriber, p_kind, p_outcome)
  ON CONFLICT (session_id, request_key) DO NOTHING;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'request %/% was stored by a concurrent duplicate', p_session, p_key
      USING ERRCODE = 'OC001';
  END IF;
END $$;

INSERT INTO schema_version (version) VALUES (3);

-- OCS schema, version 2: a charging request in two round trips.
--
-- PgChargingStore::charge (src/store/pg_charging.cpp) used to send about 24
-- statements per request. Now it sends
--   1. "BEGIN; SELECT * FROM ocs_charge_load(...)": lock the account, replay
--      check, and every row the core needs except plans and policies, which
--      the process caches under config_version;
--   2. "SELECT ocs_charge_apply(...); COMMIT": persist the effects the core
--      listed.
-- Neither function decides anything: ocs::evaluate does, in the process.

---------------------------------------------------------------------------
-- config_version: bumped by any change to what a charging process caches
-- (plans, plan_rating_groups, tariff_periods, policies), also by operators'
-- plain SQL. A cache filled after reading version V is good as long as the
-- database still says V.
---------------------------------------------------------------------------
CREATE TABLE config_version (
  id      boolean PRIMARY KEY DEFAULT true CHECK (id),  -- exactly one row
  version bigint  NOT NULL
);
INSERT INTO config_version (id, version) VALUES (true, 1);

CREATE FUNCTION ocs_bump_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE config_version SET version = version + 1;
  RETURN NULL;
END $$;

CREATE TRIGGER plans_config_version
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON plans
  FOR EACH STATEMENT EXECUTE FUNCTION ocs_bump_config_version();
CREATE TRIGGER plan_rating_groups_config_version
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON plan_rating_groups
  FOR EACH STATEMENT EXECUTE FUNCTION ocs_bump_config_version();
CREATE TRIGGER tariff_periods_config_version
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tariff_periods
  FOR EACH STATEMENT EXECUTE FUNCTION ocs_bump_config_version();
CREATE TRIGGER policies_config_version
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON policies
  FOR EACH STATEMENT EXECUTE FUNCTION ocs_bump_config_version();

---------------------------------------------------------------------------
-- ocs_charge_load: steps (a) to (d) of a charge, in one statement. Rows, in
-- this order, each tagged:
--   no_owner                         no subscriber found: stop
--   no_account  n1 subscriber        stop
--   replay      t1 stored outcome    stop
--   account     n1 subscriber, n2 balance, n3 credit_limit,
--               n4 money held by other sessions, n5 config_version,
--               t1 currency           (after the FOR UPDATE lock)
--   session     n1 owner, n2 1 if open  (not for an event; stop when the
--               request cannot go on: the caller decides what to answer)
--   subscriber  n1 plan_id, n2 effective policy_id, t1 external_id, t2 status
--   bucket      n1 id, n2 rating_group, n3 remaining, n4 held by other
--               sessions, n5 valid_from, n6 valid_until (Unix s), t1 family
--   reservation n1 rating_group, n2 granted_units, n3 money, n4 granted_at,
--               n5 tariff_change_at, t1 unit    (this session's, if open)
--   hold        n1 rating_group, n2 bucket, n3 units  (in bucket_holds order)
-- p_kind: initial, update, terminate, event. p_id_kinds/p_id_values: the
-- request's identities, tried in order (initial and event).
---------------------------------------------------------------------------
CREATE FUNCTION ocs_charge_load(p_kind text, p_session text, p_key text,
                                p_id_kinds text[], p_id_values text[])
RETURNS TABLE (tag text, n1 bigint, n2 bigint, n3 bigint, n4 bigint, n5 bigint,
               n6 bigint, t1 text, t2 text)
LANGUAGE plpgsql AS $$
DECLARE
  v_by_session boolean := p_kind IN ('update', 'terminate');
  -- An event holds nothing: every reservation of the subscriber is elsewhere.
  v_own text := CASE WHEN p_kind = 'event' THEN NULL ELSE p_session END;
  v_sub bigint;
  v_acc record;
  v_outcome text;
  v_sess record;
  v_open boolean := false;
  i integer;
BEGIN
  -- (a) the subscriber
  IF v_by_session THEN
    SELECT s.subscriber_id INTO v_sub FROM charging_sessions s WHERE s.id = p_session;
  ELSE
    FOR i IN 1 .. coalesce(array_length(p_id_kinds, 1), 0) LOOP
      SELECT si.subscriber_id INTO v_sub FROM subscriber_identities si
       WHERE si.kind = p_id_kinds[i] AND si.value = p_id_values[i];
      EXIT WHEN v_sub IS NOT NULL;
    END LOOP;
  END IF;
  IF v_sub IS NULL THEN
    RETURN QUERY SELECT 'no_owner'::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
                        NULL::bigint, NULL::bigint, NULL::text, NULL::text;
    RETURN;
  END IF;

  -- (b) the lock that serialises every charging operation of one subscriber
  SELECT a.balance, a.credit_limit, a.currency INTO v_acc
    FROM accounts a WHERE a.subscriber_id = v_sub FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'no_account'::text, v_sub, NULL::bigint, NULL::bigint, NULL::bigint,
                        NULL::bigint, NULL::bigint, NULL::text, NULL::text;
    RETURN;
  END IF;

  -- (c) replay: after the lock, so a duplicate that waited sees the answer
  SELECT e.outcome INTO v_outcome FROM charging_events e
   WHERE e.session_id = p_session AND e.request_key = p_key;
  IF FOUND THEN
    RETURN QUERY SELECT 'replay'::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
                        NULL::bigint, NULL::bigint, v_outcome, NULL::text;
    RETURN;
  END IF;

  -- (d) everything else, each read after the lock
  RETURN QUERY
    SELECT 'account'::text, v_sub, v_acc.balance, v_acc.credit_limit,
           (SELECT coalesce(sum(r.money), 0)::bigint FROM reservations r
             WHERE r.subscriber_id = v_sub AND r.session_id IS DISTINCT FROM v_own),
           (SELECT c.version FROM config_version c), NULL::bigint, v_acc.currency::text, NULL::text;

  IF p_kind <> 'event' THEN
    SELECT s.subscriber_id, s.state = 'open' AS open INTO v_sess
      FROM charging_sessions s WHERE s.id = p_session;
    IF FOUND THEN
      RETURN QUERY SELECT 'session'::text, v_sess.subscriber_id, CASE WHEN v_sess.open THEN 1 ELSE 0 END::bigint,
                          NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, NULL::text;
      IF v_sess.open AND v_sess.subscriber_id <> v_sub THEN
        RETURN;  -- another subscriber's open session: refused by the caller
      END IF;
      v_open := v_sess.open;
    END IF;
    IF v_by_session AND NOT v_open THEN
      RETURN;  -- UnknownSession
    END IF;
  END IF;

  RETURN QUERY
    SELECT 'subscriber'::text, s.plan_id, coalesce(s.policy_id, p.policy_id), NULL::bigint,
           NULL::bigint, NULL::bigint, NULL::bigint, s.external_id, s.status
      FROM subscribers s JOIN plans p ON p.id = s.plan_id WHERE s.id = v_sub;

  RETURN QUERY
    SELECT 'bucket'::text, b.id, b.rating_group, b.remaining, coalesce(h.units, 0)::bigint,
           extract(epoch FROM b.valid_from)::bigint, extract(epoch FROM b.valid_until)::bigint,
           b.unit_family, NULL::text
      FROM buckets b
      LEFT JOIN (SELECT (x->>'bucket')::bigint AS bucket, sum((x->>'units')::bigint) AS units
                   FROM reservations r CROSS JOIN LATERAL jsonb_array_elements(r.bucket_holds) x
                  WHERE r.subscriber_id = v_sub AND r.session_id IS DISTINCT FROM v_own
                  GROUP BY 1) h ON h.bucket = b.id
     WHERE b.subscriber_id = v_sub
     ORDER BY b.valid_until NULLS LAST, b.id;

  IF v_open THEN
    RETURN QUERY
      SELECT 'reservation'::text, r.rating_group, r.granted_units, r.money,
             extract(epoch FROM r.granted_at)::bigint, extract(epoch FROM r.tariff_change_at)::bigint,
             NULL::bigint, r.unit, NULL::text
        FROM reservations r WHERE r.session_id = p_session ORDER BY r.rating_group;
    RETURN QUERY
      SELECT 'hold'::text, r.rating_group, (h.value->>'bucket')::bigint, (h.value->>'units')::bigint,
             NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, NULL::text
        FROM reservations r
        CROSS JOIN LATERAL jsonb_array_elements(r.bucket_holds) WITH ORDINALITY h
       WHERE r.session_id = p_session ORDER BY r.rating_group, h.ordinality;
  END IF;
END $$;

---------------------------------------------------------------------------
-- ocs_charge_apply: steps (f) and (g) of a charge, persisting exactly the
-- effects of the core's decision, in the order the ledger invariants need
-- (docs/data-model.md). Call it in the transaction of ocs_charge_load, with
-- the account still locked.
--   p_session_write  'open' (Initial: upsert), 'touch' (Update, Terminate),
--                    NULL (Event: no session row)
--   p_debits         [{"rating_group","unit","units","cost","usage_start",
--                      "input_octets","output_octets","total_octets",
--                      "seconds","events","buckets":[{"bucket","units"}]}]
--   p_released       rating groups whose reservation ends
--   p_reservations   [{"rating_group","unit","granted_units","money",
--                      "bucket_holds","granted_at","tariff_change_at"}]
--   p_close_reason   non-NULL: release everything left and close the session
-- Raises SQLSTATE OC001 when a concurrent duplicate stored (p_session, p_key)
-- first, OC002 when a bucket to debit is gone.
---------------------------------------------------------------------------
CREATE FUNCTION ocs_charge_apply(
  p_subscriber bigint, p_currency text, p_session text, p_key text, p_kind text,
  p_session_write text, p_protocol text, p_credit_state text, p_origin_host text,
  p_origin_realm text, p_nas_address text, p_now bigint, p_expires bigint, p_refused jsonb,
  p_debits jsonb, p_released bigint[], p_reservations jsonb, p_close_reason text,
  p_outcome text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_balance bigint;
  v_cost bigint;
  v_bucket_units bigint;
  v_rg bigint;
  d jsonb;
  u jsonb;
  r jsonb;
BEGIN
  SELECT a.balance INTO v_balance FROM accounts a WHERE a.subscriber_id = p_subscriber;

  -- The session row, before the reservations that reference it.
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
      nas_address = coalesce(p_nas_address, nas_address)
    WHERE id = p_session;
  END IF;

  -- Debits: balance, debit ledger row, buckets, usage record.
  FOR d IN SELECT value FROM jsonb_array_elements(p_debits) LOOP
    v_cost := (d->>'cost')::bigint;
    IF v_cost <> 0 THEN
      UPDATE accounts SET balance = balance - v_cost, updated_at = now()
       WHERE subscriber_id = p_subscriber RETURNING balance INTO v_balance;
      INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, session_id,
                          request_key, rating_group)
      VALUES (p_subscriber, 'debit', -v_cost, p_currency, v_balance, p_session, p_key,
              (d->>'rating_group')::bigint);
    END IF;
    v_bucket_units := 0;
    FOR u IN SELECT value FROM jsonb_array_elements(d->'buckets') LOOP
      UPDATE buckets SET remaining = remaining - (u->>'units')::bigint
       WHERE id = (u->>'bucket')::bigint AND subscriber_id = p_subscriber;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'bucket % vanished', u->>'bucket' USING ERRCODE = 'OC002';
      END IF;
      v_bucket_units := v_bucket_units + (u->>'units')::bigint;
    END LOOP;
    INSERT INTO usage_records (session_id, request_key, subscriber_id, rating_group, unit, units,
                               input_octets, output_octets, total_octets, seconds, events, cost,
                               bucket_units, currency, usage_start)
    VALUES (p_session, p_key, p_subscriber, (d->>'rating_group')::bigint, d->>'unit',
            (d->>'units')::bigint, (d->>'input_octets')::bigint, (d->>'output_octets')::bigint,
            (d->>'total_octets')::bigint, (d->>'seconds')::bigint, (d->>'events')::bigint,
            v_cost, v_bucket_units, p_currency, to_timestamp((d->>'usage_start')::bigint));
  END LOOP;

  -- Released rating groups, then new reservations (each replacing, with a
  -- release row, the rating group's old one).
  FOREACH v_rg IN ARRAY p_released LOOP
    WITH gone AS (DELETE FROM reservations WHERE session_id = p_session AND rating_group = v_rg
                  RETURNING rating_group, money)
    INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, session_id,
                        request_key, rating_group)
    SELECT p_subscriber, 'release', -money, p_currency, v_balance, p_session, p_key, rating_group
      FROM gone WHERE money <> 0;
  END LOOP;
  FOR r IN SELECT value FROM jsonb_array_elements(p_reservations) LOOP
    v_rg := (r->>'rating_group')::bigint;
    WITH gone AS (DELETE FROM reservations WHERE session_id = p_session AND rating_group = v_rg
                  RETURNING rating_group, money)
    INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, session_id,
                        request_key, rating_group)
    SELECT p_subscriber, 'release', -money, p_currency, v_balance, p_session, p_key, rating_group
      FROM gone WHERE money <> 0;
    INSERT INTO reservations (session_id, rating_group, subscriber_id, unit, granted_units, money,
                              bucket_holds, granted_at, tariff_change_at)
    VALUES (p_session, v_rg, p_subscriber, r->>'unit', (r->>'granted_units')::bigint,
            (r->>'money')::bigint, r->'bucket_holds', to_timestamp((r->>'granted_at')::bigint),
            to_timestamp((r->>'tariff_change_at')::bigint));
    IF (r->>'money')::bigint <> 0 THEN
      INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, session_id,
                          request_key, rating_group)
      VALUES (p_subscriber, 'reserve', (r->>'money')::bigint, p_currency, v_balance, p_session,
              p_key, v_rg);
    END IF;
  END LOOP;

  IF p_close_reason IS NOT NULL THEN
    WITH gone AS (DELETE FROM reservations WHERE session_id = p_session
                  RETURNING rating_group, money)
    INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, session_id,
                        request_key, rating_group)
    SELECT p_subscriber, 'release', -money, p_currency, v_balance, p_session, p_key, rating_group
      FROM gone WHERE money <> 0;
    UPDATE charging_sessions SET state = 'closed', closed_at = to_timestamp(p_now),
      close_reason = p_close_reason
    WHERE id = p_session;
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

INSERT INTO schema_version (version) VALUES (2);

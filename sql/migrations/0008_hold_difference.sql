-- OCS schema, version 8: a hold that is renewed writes one ledger row for
-- its difference, or none.
--
-- Every CCR-U with a new grant, and every RADIUS Interim-Update, replaced
-- its rating group's reservation: a DELETE with a 'release' ledger row for
-- the old hold, then an INSERT with a 'reserve' row for the new one, almost
-- always the same money (the same default grant at the same price). Two
-- ledger rows, two index entries each, and a statement, per request, that
-- record no movement of money. Now (with the front-end no longer listing
-- such a rating group among the released ones, src/store/pg_charging.cpp)
-- the reservation row is updated in place and the ledger gets one row for
-- the difference: 'reserve' with the increase, 'release' with the decrease
-- (negative), nothing when equal. The audit invariants are unchanged:
--   sum(reservations.money) = sum(ledger.amount of 'reserve' and 'release')
-- per subscriber, and balance_after is still the balance (holds do not
-- change it). A rating group released without a new hold, and every hold at
-- the close of a session, still writes its full 'release' row.
--
-- Only ocs_charge_apply changes (its signature is that of version 3); the
-- rest of its body is version 3's, restated because a migration cannot
-- patch part of a function.

---------------------------------------------------------------------------
-- ocs_charge_apply
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
  -- A rating group's new hold replaces its old one in place, with one
  -- ledger row for the difference ('reserve' when it grows, 'release' when
  -- it shrinks, none when it is the same money).
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
    SELECT p_subscriber, CASE WHEN z.amount > 0 THEN 'reserve' ELSE 'release' END, z.amount,
           p_currency, v_balance, p_session, p_key, r.rating_group
      FROM (SELECT r.money - coalesce((SELECT prev.money FROM prev), 0) AS amount) z
     WHERE z.amount <> 0;
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

INSERT INTO schema_version (version) VALUES (8);

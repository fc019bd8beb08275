-- OCS schema, version 21: a usage record that costs money is the ledger's
-- debit; the charge no longer writes the same debit twice.
--
-- Until version 20 a charged usage report wrote two rows that said the same
-- thing: a usage record (cost, units, reported usage) and a 'debit' ledger
-- row (-cost, balance_after), each with its indexes and a foreign-key check
-- on the subscriber. Measured with tools/bench/gy_alone.sh and
-- apply_variant.sh's `nodebit` (docs/benchmarks.md, "A usage record is its
-- own debit"), leaving the debit row out took 3 to 11 % (mean 7 %) off
-- PostgreSQL's CPU per CCR in six pairs of runs.
--
-- The ledger's rows are now in two tables, and `ledger` is a view of both
-- with the columns it always had:
--   ledger_entries   the table `ledger` was, renamed: top-ups, adjustments,
--                    holds (reserve, release), and the debits written before
--                    version 21 (or by a front-end of an older version: the
--                    view's INSTEAD OF trigger puts them here);
--   usage_records    a record with cost > 0 written from version 21 on
--                    carries its ledger row's id (ledger_id, from the
--                    ledger's sequence, so that ORDER BY id still orders a
--                    subscriber's history) and balance_after; the view shows
--                    it as kind 'debit', amount -cost, at recorded_at.
-- Reads of `ledger` (ocsctl, reports, audits, operators' SQL) are
-- unchanged. Inserts into `ledger` still work (an INSTEAD OF trigger writes
-- them to ledger_entries); the project's own writers use ledger_entries.
-- UPDATE and DELETE fail with the append-only error as before, and usage
-- records are now append-only too: they are half of the ledger.
ALTER TABLE ledger RENAME TO ledger_entries;

ALTER TABLE usage_records
  ADD COLUMN ledger_id bigint,
  ADD COLUMN balance_after bigint,
  ADD CONSTRAINT usage_records_cost CHECK (cost >= 0),
  ADD CONSTRAINT usage_records_debit CHECK (ledger_id IS NULL OR (cost > 0 AND balance_after IS NOT NULL));

CREATE VIEW ledger AS
  SELECT e.id, e.subscriber_id, e.kind, e.amount, e.currency, e.balance_after, e.reference,
         e.session_id, e.request_key, e.rating_group, e.created_at
    FROM ledger_entries e
  UNION ALL
  SELECT u.ledger_id, u.subscriber_id, 'debit'::text, -u.cost, u.currency, u.balance_after, NULL::text,
         u.session_id, u.request_key, u.rating_group, u.recorded_at
    FROM usage_records u
   WHERE u.ledger_id IS NOT NULL;
COMMENT ON VIEW ledger IS
  'Every movement of money or of a hold: ledger_entries, and the usage records that cost money (schema 21)';
ALTER VIEW ledger ALTER COLUMN id SET DEFAULT nextval('ledger_id_seq');
ALTER VIEW ledger ALTER COLUMN created_at SET DEFAULT now();

CREATE FUNCTION ocs_ledger_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger_entries (id, subscriber_id, kind, amount, currency, balance_after, reference,
                              session_id, request_key, rating_group, created_at)
  VALUES (NEW.id, NEW.subscriber_id, NEW.kind, NEW.amount, NEW.currency, NEW.balance_after,
          NEW.reference, NEW.session_id, NEW.request_key, NEW.rating_group, NEW.created_at);
  RETURN NEW;
END $$;
CREATE TRIGGER ledger_insert INSTEAD OF INSERT ON ledger
  FOR EACH ROW EXECUTE FUNCTION ocs_ledger_insert();
CREATE TRIGGER ledger_append_only INSTEAD OF UPDATE OR DELETE ON ledger
  FOR EACH ROW EXECUTE FUNCTION ocs_ledger_append_only();

CREATE FUNCTION ocs_usage_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'usage records are append-only (those that cost money are the ledger''s debits): % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER usage_records_append_only BEFORE UPDATE OR DELETE ON usage_records
  FOR EACH ROW EXECUTE FUNCTION ocs_usage_records_append_only();
CREATE TRIGGER usage_records_no_truncate BEFORE TRUNCATE ON usage_records
  FOR EACH STATEMENT EXECUTE FUNCTION ocs_usage_records_append_only();

-- The batch writes of version 11 (with version 15's settings), with one
-- statement for the usage records in place of the debit rows and usage
-- records, and its hold rows written to ledger_entries.
CREATE OR REPLACE FUNCTION ocs_charge_apply_batch(p_requests jsonb)
RETURNS void LANGUAGE plpgsql
SET jit = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET enable_seqscan = off
AS $$
DECLARE
  v_opens boolean;
  v_touches boolean;
  v_debits boolean;
  v_buckets boolean;
  v_released boolean;
  v_reservations boolean;
  v_closes boolean;
  v_count int;
  v_stored int;
  v_missing text;
BEGIN
  -- What the requests need, so that a kind of write none needs costs nothing.
  SELECT bool_or(r.session_write = 'open'), bool_or(r.session_write = 'touch'),
         bool_or(jsonb_array_length(r.debits) > 0),
         bool_or(jsonb_path_exists(r.debits, '$[*].buckets[*]')),
         bool_or(jsonb_array_length(r.released) > 0),
         bool_or(jsonb_array_length(r.reservations) > 0),
         bool_or(r.close_reason IS NOT NULL),
         count(*)
    INTO v_opens, v_touches, v_debits, v_buckets, v_released, v_reservations, v_closes, v_count
    FROM jsonb_to_recordset(p_requests) AS r(session_write text, debits jsonb, released jsonb,
                                             reservations jsonb, close_reason text);

  -- The session rows, before the reservations that reference them. A
  -- Terminate's close is folded into its update (the same final row).
  IF v_opens THEN
    INSERT INTO charging_sessions (id, subscriber_id, protocol, credit_state, origin_host,
                                   origin_realm, nas_address, last_request_key, created_at,
                                   last_seen, expires_at, client_info)
    SELECT r.session, r.subscriber, r.protocol, r.credit_state, r.origin_host, r.origin_realm,
           r.nas_address, r.key, to_timestamp(r.now), to_timestamp(r.now), to_timestamp(r.expires),
           jsonb_build_object('exhausted_rating_groups', r.refused) || coalesce(r.client, '{}'::jsonb)
      FROM ROWS FROM (jsonb_to_recordset(p_requests) AS (
             session text, subscriber bigint, protocol text, credit_state text, origin_host text,
             origin_realm text, nas_address text, key text, now bigint, expires bigint,
             refused jsonb, client jsonb, session_write text)) WITH ORDINALITY AS r
     WHERE r.session_write = 'open'
     ORDER BY r.ordinality
    ON CONFLICT (id) DO UPDATE SET subscriber_id = EXCLUDED.subscriber_id,
      protocol = EXCLUDED.protocol, state = 'open', credit_state = EXCLUDED.credit_state,
      client_info = EXCLUDED.client_info,
      origin_host = EXCLUDED.origin_host, origin_realm = EXCLUDED.origin_realm,
      nas_address = EXCLUDED.nas_address, last_request_key = EXCLUDED.last_request_key,
      last_seen = EXCLUDED.last_seen, expires_at = EXCLUDED.expires_at,
      closed_at = NULL, close_reason = NULL;
  END IF;
  IF v_touches THEN
    UPDATE charging_sessions s SET credit_state = r.credit_state, last_request_key = r.key,
      last_seen = to_timestamp(r.now), expires_at = to_timestamp(r.expires),
      client_info = s.client_info || jsonb_build_object('exhausted_rating_groups', r.refused),
      origin_host = coalesce(r.origin_host, s.origin_host),
      origin_realm = coalesce(r.origin_realm, s.origin_realm),
      nas_address = coalesce(r.nas_address, s.nas_address),
      state = CASE WHEN r.close_reason IS NULL THEN s.state ELSE 'closed' END,
      closed_at = CASE WHEN r.close_reason IS NULL THEN s.closed_at ELSE to_timestamp(r.now) END,
      close_reason = coalesce(r.close_reason, s.close_reason)
      FROM jsonb_to_recordset(p_requests) AS r(
             session text, credit_state text, origin_host text, origin_realm text,
             nas_address text, key text, now bigint, expires bigint, refused jsonb,
             close_reason text, session_write text)
     WHERE r.session_write = 'touch' AND s.id = r.session;
  END IF;

  IF v_debits THEN
    -- Each balance once for all its request's debits (each cost >= 0: the
    -- usage records' CHECK).
    UPDATE accounts a SET balance = a.balance - d.total, updated_at = now()
      FROM (SELECT r.subscriber, sum(x.cost)::bigint AS total
              FROM jsonb_to_recordset(p_requests) AS r(subscriber bigint, debits jsonb)
             CROSS JOIN LATERAL jsonb_to_recordset(r.debits) AS x(cost bigint)
             GROUP BY r.subscriber) d
     WHERE a.subscriber_id = d.subscriber AND d.total <> 0;

    -- Buckets, a bucket debited twice by its sum; each of its own subscriber.
    IF v_buckets THEN
      WITH u AS (SELECT r.subscriber, (b.value->>'bucket')::bigint AS bucket,
                        sum((b.value->>'units')::bigint) AS units,
                        min(r.ordinality * 1000000000000 + d.n * 1000000 + b.n) AS first
                   FROM ROWS FROM (jsonb_to_recordset(p_requests) AS (subscriber bigint, debits jsonb)) WITH ORDINALITY AS r
                  CROSS JOIN LATERAL jsonb_array_elements(r.debits) WITH ORDINALITY d(value, n)
                  CROSS JOIN LATERAL jsonb_array_elements(d.value->'buckets') WITH ORDINALITY b(value, n)
                  GROUP BY 1, 2),
           done AS (UPDATE buckets bk SET remaining = bk.remaining - u.units FROM u
                     WHERE bk.id = u.bucket AND bk.subscriber_id = u.subscriber
                    RETURNING bk.id, bk.subscriber_id)
      SELECT u.bucket::text INTO v_missing FROM u
       WHERE NOT EXISTS (SELECT 1 FROM done WHERE done.id = u.bucket AND done.subscriber_id = u.subscriber)
       ORDER BY u.first LIMIT 1;
      IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION 'bucket % vanished', v_missing USING ERRCODE = 'OC002';
      END IF;
    END IF;

    -- A usage record for each debit; one that costs money is also the
    -- ledger's debit (schema 21): it takes its id from the ledger's sequence,
    -- in the order the debit rows had, and its balance_after as if the
    -- request's debits were applied one by one, from the balance after all
    -- of them.
    WITH d AS (
           SELECT r.ordinality AS req, r.subscriber, r.currency, r.session, r.key, x.*,
                  (SELECT coalesce(sum((b->>'units')::bigint), 0)
                     FROM jsonb_array_elements(x.buckets) b)::bigint AS bucket_units
             FROM ROWS FROM (jsonb_to_recordset(p_requests) AS (
                    subscriber bigint, currency text, session text, key text, debits jsonb)) WITH ORDINALITY AS r
            CROSS JOIN LATERAL ROWS FROM (jsonb_to_recordset(r.debits) AS (
                    rating_group bigint, unit text, units bigint, cost bigint, usage_start bigint,
                    input_octets bigint, output_octets bigint, total_octets bigint, seconds bigint,
                    events bigint, buckets jsonb)) WITH ORDINALITY AS x),
         b AS (
           SELECT d.*,
                  (SELECT a.balance FROM accounts a WHERE a.subscriber_id = d.subscriber)
                    + sum(d.cost) OVER (PARTITION BY d.req)
                    - sum(d.cost) OVER (PARTITION BY d.req ORDER BY d.ordinality) AS balance_after
             FROM d)
    INSERT INTO usage_records (session_id, request_key, subscriber_id, rating_group, unit, units,
                               input_octets, output_octets, total_octets, seconds, events, cost,
                               bucket_units, currency, usage_start, ledger_id, balance_after)
    SELECT b.session, b.key, b.subscriber, b.rating_group, b.unit, b.units, b.input_octets,
           b.output_octets, b.total_octets, b.seconds, b.events, b.cost, b.bucket_units, b.currency,
           to_timestamp(b.usage_start),
           CASE WHEN b.cost <> 0 THEN nextval('ledger_id_seq') END,
           CASE WHEN b.cost <> 0 THEN b.balance_after END
      FROM b ORDER BY b.req, b.ordinality;
  END IF;

  -- Released rating groups (in the order given), with a release row each.
  IF v_released THEN
    WITH g AS (SELECT r.ordinality AS req, r.subscriber, r.currency, r.session, r.key,
                      x.value::bigint AS rating_group, x.ordinality
                 FROM ROWS FROM (jsonb_to_recordset(p_requests) AS (
                        subscriber bigint, currency text, session text, key text, released jsonb)) WITH ORDINALITY AS r
                CROSS JOIN LATERAL jsonb_array_elements_text(r.released) WITH ORDINALITY AS x),
         gone AS (DELETE FROM reservations v USING g
                   WHERE v.session_id = g.session AND v.rating_group = g.rating_group
                  RETURNING v.session_id, v.rating_group, v.money)
    INSERT INTO ledger_entries (subscriber_id, kind, amount, currency, balance_after, session_id,
                        request_key, rating_group)
    SELECT g.subscriber, 'release', -gone.money, g.currency,
           (SELECT a.balance FROM accounts a WHERE a.subscriber_id = g.subscriber),
           g.session, g.key, g.rating_group
      FROM gone
      JOIN g ON g.session = gone.session_id AND g.rating_group = gone.rating_group
     WHERE gone.money <> 0
     ORDER BY g.req, g.ordinality;
  END IF;

  -- A rating group's new hold replaces its old one in place, with one
  -- ledger row for the difference ('reserve' when it grows, 'release' when
  -- it shrinks, none when it is the same money). Of two holds of one rating
  -- group in one request, the last one counts, as it did one after the other.
  IF v_reservations THEN
    WITH h AS (
           SELECT DISTINCT ON (r.ordinality, x.rating_group)
                  r.ordinality AS req, r.subscriber, r.currency, r.session, r.key, x.*
             FROM ROWS FROM (jsonb_to_recordset(p_requests) AS (
                    subscriber bigint, currency text, session text, key text, reservations jsonb)) WITH ORDINALITY AS r
            CROSS JOIN LATERAL ROWS FROM (jsonb_to_recordset(r.reservations) AS (
                    rating_group bigint, unit text, granted_units bigint, money bigint,
                    bucket_holds jsonb, granted_at bigint, tariff_change_at bigint)) WITH ORDINALITY AS x
            ORDER BY r.ordinality, x.rating_group, x.ordinality DESC),
         prev AS (SELECT o.session_id, o.rating_group, o.money
                    FROM reservations o JOIN h ON o.session_id = h.session AND o.rating_group = h.rating_group),
         put AS (INSERT INTO reservations AS t (session_id, rating_group, subscriber_id, unit,
                                                granted_units, money, bucket_holds, granted_at,
                                                tariff_change_at)
                 SELECT h.session, h.rating_group, h.subscriber, h.unit, h.granted_units, h.money,
                        h.bucket_holds, to_timestamp(h.granted_at), to_timestamp(h.tariff_change_at)
                   FROM h ORDER BY h.req, h.ordinality
                 ON CONFLICT (session_id, rating_group) DO UPDATE SET
                   subscriber_id = EXCLUDED.subscriber_id, unit = EXCLUDED.unit,
                   granted_units = EXCLUDED.granted_units, money = EXCLUDED.money,
                   bucket_holds = EXCLUDED.bucket_holds, granted_at = EXCLUDED.granted_at,
                   tariff_change_at = EXCLUDED.tariff_change_at)
    INSERT INTO ledger_entries (subscriber_id, kind, amount, currency, balance_after, session_id,
                        request_key, rating_group)
    SELECT h.subscriber, CASE WHEN z.amount > 0 THEN 'reserve' ELSE 'release' END, z.amount,
           h.currency, (SELECT a.balance FROM accounts a WHERE a.subscriber_id = h.subscriber),
           h.session, h.key, h.rating_group
      FROM h
      LEFT JOIN prev ON prev.session_id = h.session AND prev.rating_group = h.rating_group
     CROSS JOIN LATERAL (SELECT h.money - coalesce(prev.money, 0) AS amount) z
     WHERE z.amount <> 0
     ORDER BY h.req, h.ordinality;
  END IF;

  -- A closing session releases everything it still holds.
  IF v_closes THEN
    WITH c AS (SELECT r.ordinality AS req, r.subscriber, r.currency, r.session, r.key
                 FROM ROWS FROM (jsonb_to_recordset(p_requests) AS (
                        subscriber bigint, currency text, session text, key text, close_reason text,
                        session_write text)) WITH ORDINALITY AS r
                WHERE r.close_reason IS NOT NULL AND r.session_write IS NOT NULL),
         gone AS (DELETE FROM reservations v USING c WHERE v.session_id = c.session
                  RETURNING v.session_id, v.rating_group, v.money)
    INSERT INTO ledger_entries (subscriber_id, kind, amount, currency, balance_after, session_id,
                        request_key, rating_group)
    SELECT c.subscriber, 'release', -gone.money, c.currency,
           (SELECT a.balance FROM accounts a WHERE a.subscriber_id = c.subscriber),
           c.session, c.key, gone.rating_group
      FROM gone
      JOIN c ON c.session = gone.session_id
     WHERE gone.money <> 0
     ORDER BY c.req, gone.rating_group;
    -- An opened session closes here; a touched one closed in its update.
    UPDATE charging_sessions s SET state = 'closed', closed_at = to_timestamp(r.now),
      close_reason = r.close_reason
      FROM jsonb_to_recordset(p_requests) AS r(session text, now bigint, close_reason text,
                                               session_write text)
     WHERE r.close_reason IS NOT NULL AND r.session_write = 'open' AND s.id = r.session;
  END IF;

  -- The answers, under the requests' idempotency keys.
  INSERT INTO charging_events (session_id, request_key, subscriber_id, kind, outcome)
  SELECT r.session, r.key, r.subscriber, r.kind, r.outcome
    FROM ROWS FROM (jsonb_to_recordset(p_requests) AS (
           session text, key text, subscriber bigint, kind text, outcome text)) WITH ORDINALITY AS r
   ORDER BY r.ordinality
  ON CONFLICT (session_id, request_key) DO NOTHING;
  GET DIAGNOSTICS v_stored = ROW_COUNT;
  IF v_stored < v_count THEN
    RAISE EXCEPTION '% of % requests were stored by a concurrent duplicate', v_count - v_stored, v_count
      USING ERRCODE = 'OC001';
  END IF;
END $$;


INSERT INTO schema_version (version) VALUES (21);

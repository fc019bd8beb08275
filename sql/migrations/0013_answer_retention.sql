-- OCS schema, version 13: stored answers can be purged.
--
-- charging_events keeps the answer of every request under its idempotency
-- key (session, request key), so that a retransmission is answered from it
-- and charged once. Nothing ever removed them: at about 1.2 kB a row (the
-- answer's text, docs/benchmarks.md), 2,000 requests a second add some
-- 200 GB a day. A retransmission comes seconds after the original, a
-- late duplicate minutes after; an answer is needed only as long as its
-- session may still send one.
--
-- ocs_purge_answers(before, limit) deletes at most `limit` stored answers
-- created before `before` whose session is not open (closed, or never a
-- session row: an event charge). An open session's answers stay, however
-- old. A cutoff less than an hour ago is refused: that is within the
-- retransmission window of every client we know. Returns the rows deleted;
-- call it again until it returns less than `limit` (`ocsctl db
-- purge-answers` does, one transaction per call, so that no purge holds
-- millions of row locks or one huge transaction).
--
-- What a purge changes: a duplicate of a purged request is no longer
-- answered from the store. For a closed session that means what it means
-- for any request to a closed session (an Update or Terminate is refused as
-- an unknown session; RADIUS accounting carries running totals, so a
-- replayed Stop is charged nothing). The ledger, usage records and sessions
-- are never purged: they are the account's history.
--
-- The BRIN index on created_at finds the old rows without reading the whole
-- table; rows are appended in created_at order, which is what BRIN needs.
-- Its cost per insert (the charge's hot path) was not measured apart: Gy
-- runs after it (5,318-5,862 CCR/s) were no slower than before it
-- (5,017-5,378), in runs that were not paired for that.
CREATE INDEX charging_events_created ON charging_events USING brin (created_at)
  WITH (autosummarize = on);

CREATE FUNCTION ocs_purge_answers(p_before timestamptz, p_limit int)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  v_deleted int;
BEGIN
  IF p_before IS NULL OR p_before > now() - interval '1 hour' THEN
    RAISE EXCEPTION 'stored answers of the last hour are never purged (cutoff %)', p_before
      USING ERRCODE = '22023';
  END IF;
  IF p_limit IS NULL OR p_limit < 1 THEN
    RAISE EXCEPTION 'purge limit must be at least 1 (got %)', p_limit USING ERRCODE = '22023';
  END IF;
  DELETE FROM charging_events e
   WHERE e.ctid = ANY (ARRAY(
           SELECT x.ctid FROM charging_events x
            WHERE x.created_at < p_before
              AND NOT EXISTS (SELECT 1 FROM charging_sessions s
                               WHERE s.id = x.session_id AND s.state = 'open')
            LIMIT p_limit));
  GET DIAGNOSTICS v_deleted = ROW_COUNT;
  RETURN v_deleted;
END $$;

INSERT INTO schema_version (version) VALUES (13);

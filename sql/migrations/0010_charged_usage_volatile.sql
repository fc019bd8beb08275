-- OCS schema, version 10: ocs_charged_usage sees what was committed before
-- the account lock was granted.
--
-- The charge appends ocs_charged_usage(session) to the statement whose first
-- part, ocs_charge_load(_batch), locks the subscriber's account (0009). A
-- STABLE function runs with the snapshot of that statement, taken when it
-- started, before it waited for the lock: when two requests of one session
-- ran at once (two ocs-radiusd behind one NAS, say), the second one, granted
-- the lock after the first committed, still summed the usage records
-- without the first one's, and charged the overlap twice. A VOLATILE
-- function takes a new snapshot for its statement, which runs after the
-- load has returned (the load materialises its rows, lock included, before
-- the next branch of the UNION ALL starts): the sums then include every
-- charge committed before the lock was granted.
ALTER FUNCTION ocs_charged_usage(text) VOLATILE;

INSERT INTO schema_version (version) VALUES (10);

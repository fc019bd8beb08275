-- OCS schema, version 15: the charge functions look rows up through their
-- indexes whatever the table statistics say.
--
-- Every statement of the charge path finds its rows by key: a session by
-- id, a stored answer by (session_id, request_key), an account, a
-- subscriber, reservations by session or subscriber, usage records by
-- session. The functions keep one generic plan per connection
-- (plan_cache_mode, version 7, and PL/pgSQL's own plan cache), made at
-- their first call. When that call follows an ANALYZE of tables that were
-- empty or nearly so (a fresh installation; the benchmark's VACUUM ANALYZE
-- between phases), the planner counts one row in charging_sessions,
-- charging_events, reservations or usage_records and picks sequential
-- scans, and the connection keeps them while those tables grow, until the
-- next autoanalyze invalidates the plan. Found with the benchmark: after a
-- VACUUM ANALYZE of an empty charging schema, ocs-radiusd ran at half its
-- rate with PostgreSQL spending 1.07 ms per packet instead of about 0.45
-- (docs/benchmarks.md); a load of one request on 50,000 sessions took
-- 14 ms instead of 0.4.
--
-- Sequential scans are therefore off inside these functions, as hash and
-- merge joins already are in the batch functions (0011, 0012, 0014). A
-- statement with no index to use still scans (config_version, one row),
-- but its cost now counts the planner's penalty for a disabled plan, which
-- is far above jit_above_cost: JIT is off in every one of them too (the
-- batch functions had it off already; ocs_charge_load compiled its query at
-- every call without it, a quarter of a second each).
ALTER FUNCTION ocs_batch_owners(text[], text[], int[], text[], text[]) SET enable_seqscan = off SET jit = off;
ALTER FUNCTION ocs_charge_load_batch(text[], text[], text[], int[], text[], text[]) SET enable_seqscan = off SET jit = off;
ALTER FUNCTION ocs_charge_apply_batch(jsonb) SET enable_seqscan = off SET jit = off;
ALTER FUNCTION ocs_attach_clients(jsonb) SET enable_seqscan = off SET jit = off;
ALTER FUNCTION ocs_charged_usage(text) SET enable_seqscan = off SET jit = off;
ALTER FUNCTION ocs_charge_load(text, text, text, text[], text[]) SET enable_seqscan = off SET jit = off;
ALTER FUNCTION ocs_charge_apply(bigint, text, text, text, text, text, text, text, text, text, text, bigint, bigint,
                                jsonb, jsonb, bigint[], jsonb, text, text) SET enable_seqscan = off SET jit = off;

INSERT INTO schema_version (version) VALUES (15);

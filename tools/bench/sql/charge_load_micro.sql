-- Per-call cost of ocs_charge_load, schema version 6 against 7, measured in
-- one backend (no commit, no network), the two alternating call by call so
-- that other load on the machine hits both alike. Medians are what to read.
-- Needs the scripts/bench gy database and a copy of the version-6 function:
--   sed -n '/^CREATE OR REPLACE FUNCTION ocs_charge_load/,/^END \$\$;/p' \
--       sql/migrations/0003_charge_fewer_statements.sql \
--     | sed 's/FUNCTION ocs_charge_load(/FUNCTION ocs_charge_load_v6(/' | psql -d ocs
--   psql -d ocs -f tools/bench/sql/charge_load_micro.sql
-- Everything it writes is rolled back (the function copy stays: drop it).
BEGIN;
INSERT INTO charging_sessions (id, subscriber_id, protocol)
  SELECT 'micro;' || g, 1000 + g, 'gy' FROM generate_series(0, 399) g;
INSERT INTO reservations (session_id, rating_group, subscriber_id, unit, granted_units, money, granted_at)
  SELECT 'micro;' || g, 100, 1000 + g, 'octets_total', 10485760, 20, now() FROM generate_series(0, 399) g;
CREATE TEMP TABLE t (v text, kind text, us float8) ON COMMIT DROP;
DO $$
DECLARE v text; k text; g int; r int; t0 timestamptz; n int; msisdn text; sid text;
BEGIN
  FOR r IN 1 .. 3 LOOP
    FOREACH k IN ARRAY ARRAY['initial', 'update', 'event'] LOOP
      FOR g IN 0 .. 399 LOOP
        sid := 'micro;' || g; msisdn := (491600000000 + 995 + g)::text;  -- subscriber 1000 + g
        IF k = 'initial' THEN sid := 'micro-new;' || g; END IF;
        FOREACH v IN ARRAY CASE WHEN (g + r) % 2 = 0 THEN ARRAY['v7', 'v6'] ELSE ARRAY['v6', 'v7'] END LOOP
          t0 := clock_timestamp();
          IF v = 'v7' THEN
            SELECT count(*) INTO n FROM ocs_charge_load(k, sid, 'k' || r, ARRAY['msisdn'], ARRAY[msisdn]);
          ELSE
            SELECT count(*) INTO n FROM ocs_charge_load_v6(k, sid, 'k' || r, ARRAY['msisdn'], ARRAY[msisdn]);
          END IF;
          INSERT INTO t VALUES (v, k, extract(epoch FROM clock_timestamp() - t0) * 1e6);
        END LOOP;
      END LOOP;
    END LOOP;
  END LOOP;
END $$;
SELECT kind, v, count(*) AS calls,
       round(percentile_cont(0.1) WITHIN GROUP (ORDER BY us)::numeric, 1) AS p10_us,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY us)::numeric, 1) AS median_us,
       round(avg(us)::numeric, 1) AS mean_us
  FROM t GROUP BY 1, 2 ORDER BY 1, 2;
ROLLBACK;

-- Per-call cost of ocs_charge_load_batch (8 Initials per batch), schema
-- version 6 against 7, alternating batch by batch in one backend, as
-- charge_load_micro.sql does for single requests. Needs the scripts/bench gy
-- database, ocs_charge_load_v6 (see charge_load_micro.sql) and a version-6
-- copy of the batch loader calling it:
--   sed -n '/^CREATE FUNCTION ocs_charge_load_batch/,/^END \$\$;/p' \
--       sql/migrations/0006_charge_batch.sql \
--     | sed 's/FUNCTION ocs_charge_load_batch(/FUNCTION ocs_charge_load_batch_v6(/;
--            s/FROM ocs_charge_load(/FROM ocs_charge_load_v6(/' | psql -d ocs
--   psql -d ocs -f tools/bench/sql/charge_load_batch_micro.sql
BEGIN;
CREATE TEMP TABLE t (v text, us float8) ON COMMIT DROP;
DO $$
DECLARE v text; g int; j int; n int; t0 timestamptz;
        ks text[]; ss text[]; kk text[]; ir int[]; ik text[]; iv text[];
BEGIN
  FOR g IN 0 .. 299 LOOP
    ks := '{}'; ss := '{}'; kk := '{}'; ir := '{}'; ik := '{}'; iv := '{}';
    FOR j IN 1 .. 8 LOOP
      ks := ks || 'initial'::text; ss := ss || ('mb;' || g || ';' || j); kk := kk || '0'::text;
      ir := ir || j; ik := ik || 'msisdn'::text; iv := iv || (491600010000 + g * 8 + j)::text;
    END LOOP;
    FOREACH v IN ARRAY CASE WHEN g % 2 = 0 THEN ARRAY['v7', 'v6'] ELSE ARRAY['v6', 'v7'] END LOOP
      t0 := clock_timestamp();
      IF v = 'v7' THEN
        SELECT count(*) INTO n FROM ocs_charge_load_batch(ks, ss, kk, ir, ik, iv);
      ELSE
        SELECT count(*) INTO n FROM ocs_charge_load_batch_v6(ks, ss, kk, ir, ik, iv);
      END IF;
      INSERT INTO t VALUES (v, extract(epoch FROM clock_timestamp() - t0) * 1e6);
    END LOOP;
  END LOOP;
END $$;
SELECT v, count(*) AS batches,
       round(percentile_cont(0.1) WITHIN GROUP (ORDER BY us)::numeric, 1) AS p10_us,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY us)::numeric, 1) AS median_us,
       round(avg(us)::numeric, 1) AS mean_us
  FROM t GROUP BY 1 ORDER BY 1;
ROLLBACK;

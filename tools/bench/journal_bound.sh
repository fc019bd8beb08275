#!/bin/bash
# A lower bound for a journal design's PostgreSQL CPU per CCR
# (docs/benchmarks.md, "What a journal design would cost PostgreSQL").
#
# Model: per transaction, one multi-row INSERT of N 300-byte journal rows
# and one UPDATE of the N accounts they touch (out of 100,000, fillfactor
# 80), then COMMIT; pgbench -M prepared, 2 clients. PostgreSQL's CPU is the
# sum of utime+stime of the cluster's processes over the measured seconds.
#
#   tools/bench/journal_bound.sh DSN BATCH [SECONDS] [pk]
#
# DSN: a scratch database on a cluster of its own (it creates and drops
# the tables journal and accounts; run it as a user who may read the
# postgres processes' /proc/PID/stat). pk: the journal gets a primary key
# (session_id, request_number).
set -euo pipefail
dsn=$1 batch=$2 seconds=${3:-10} pk=${4:-}
[[ $batch =~ ^[0-9]+$ && $batch -ge 1 ]] || { echo "BATCH must be a positive integer" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "$dsn" <<SQL
DROP TABLE IF EXISTS journal, accounts;
CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL, reserved bigint NOT NULL DEFAULT 0,
                       updated_at timestamptz) WITH (fillfactor = 80);
INSERT INTO accounts SELECT g, 1000000000, 0, now() FROM generate_series(1, 100000) g;
CREATE TABLE journal (session_id text NOT NULL, request_number int NOT NULL, at timestamptz NOT NULL,
                      account_id bigint NOT NULL, debit bigint NOT NULL, reserve_delta bigint NOT NULL,
                      answer text NOT NULL);
$( [[ $pk == pk ]] && echo "ALTER TABLE journal ADD PRIMARY KEY (session_id, request_number);" )
VACUUM ANALYZE accounts;
SQL

{
  values=() updates=()
  for ((i = 0; i < batch; i++)); do
    echo "\\set a$i random(1, 100000)"
    echo "\\set s$i random(1, 1000000000000)"
    values+=("('s' || :s$i, 3, now(), :a$i, 120, 50, repeat('x', 300))")
    updates+=("(:a$i::bigint, 120::bigint, 50::bigint)")
  done
  echo "BEGIN;"
  (IFS=,; echo "INSERT INTO journal VALUES ${values[*]};")
  (IFS=,; echo "UPDATE accounts a SET balance = a.balance - d.debit, reserved = a.reserved + d.res, updated_at = now()" \
               "FROM (SELECT id, sum(debit) debit, sum(res) res FROM (VALUES ${updates[*]}) v(id, debit, res) GROUP BY id) d" \
               "WHERE a.id = d.id;")
  echo "COMMIT;"
} > "$work/batch.pgbench"

pg_cpu() {  # clock ticks of every postgres process
  local t=0 p f
  for p in $(pgrep -x postgres); do
    read -r -a f < "/proc/$p/stat" 2>/dev/null || continue
    t=$((t + f[13] + f[14]))
  done
  echo "$t"
}

pgbench -n -M prepared -c 2 -j 1 -T $((seconds + 3)) -P 1 -f "$work/batch.pgbench" "$dsn" > "$work/out" 2>&1 &
bench=$!
sleep 2
t1=$(pg_cpu)
sleep "$seconds"
t2=$(pg_cpu)
wait "$bench" || { cat "$work/out" >&2; exit 1; }
tps=$(grep '^progress' "$work/out" | sed -n "3,$((seconds + 2))p" | awk '{s += $4; n++} END {print s / n}')
awk -v t1="$t1" -v t2="$t2" -v T="$seconds" -v tps="$tps" -v n="$batch" -v hz="$(getconf CLK_TCK)" 'BEGIN {
  cores = (t2 - t1) / hz / T
  printf "batch=%d transactions/s=%.0f ccr/s=%.0f postgres_cores=%.2f postgres_ms_per_ccr=%.4f\n",
         n, tps, tps * n, cores, cores * 1000 / (tps * n) }'

#!/bin/bash
# freeDiameterd with ocs.fdx alone on the database a `scripts/bench gy --keep`
# run left, for measurements the whole benchmark cannot make in one run
# (docs/benchmarks.md, "Gy: what a charge's rows cost").
#
#   tools/bench/gy_alone.sh WORK [--seconds S] [--rate R] [--sql FILE]... [--runs N] [--baseline]
#
# WORK    the work directory `scripts/bench gy --keep` printed (its PostgreSQL
#         is started if it is not running; freeDiameterd must not be).
# --rate  open loop at R CCR/s; 0 (the default) is the closed loop.
# --sql   a file run on the database before the runs (as postgres), for
#         example a variant of a charge function; see apply_variant.sh.
# --runs  repeat the measurement N times.
# --baseline  freeDiameterd with the trivial extension of the baseline
#         instead (its configuration in WORK; the database is not used).
#
# Each run: VACUUM ANALYZE and CHECKPOINT, then freeDiameterd with ocs.fdx
# and ocs-bench (the load of scripts/bench gy) for S seconds after a 1 s
# warm-up (the default size of that load: a work directory made with other
# --subscribers, --sessions or --connections is not reproduced). It prints
# ocs-bench's throughput and latency (of the window), then, over the whole
# run (warm-up and tail included), the CPU of freeDiameterd and of every
# PostgreSQL process per CCR sent, the
# transactions committed in the database, the CCRs per transaction and
# PostgreSQL's CPU per transaction. Compare runs of this tool with each
# other, not with the whole benchmark's figures.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../../scripts/lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"
# shellcheck source=SCRIPTDIR/../../scripts/lib/bench.sh
source "$OCS_ROOT/scripts/lib/bench.sh"

[[ $# -ge 1 ]] || die "usage: gy_alone.sh WORK [--seconds S] [--rate R] [--sql FILE]... [--runs N] [--baseline]"
work=$(cd "$1" && pwd) || die "no directory $1"
shift
seconds=8 rate=0 runs=1 sql=() conf=ocs
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=${2:?}; shift 2 ;;
    --rate) rate=${2:?}; shift 2 ;;
    --runs) runs=${2:?}; shift 2 ;;
    --sql) sql+=("${2:?}"); shift 2 ;;
    --baseline) conf=baseline; shift ;;
    *) die "unknown option $1" ;;
  esac
done
for n in "$seconds" "$rate" "$runs"; do [[ $n =~ ^[0-9]+$ ]] || die "not a number: $n"; done

bench=$OCS_ROOT/build/bench/bin/ocs-bench
[[ -x $bench ]] || die "$bench is missing: run scripts/bench gy once"
[[ -f $work/ocs.fd.conf && -d $work/pg/data ]] || die "$work is not a scripts/bench gy --keep directory"
pg_port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' "$work/ocs.toml" | head -n 1)
fd_port=$(sed -n 's/^Port = \([0-9]*\);/\1/p' "$work/$conf.fd.conf" | head -n 1)
[[ -n $pg_port && -n $fd_port ]] || die "cannot read the ports from $work/ocs.toml and $work/$conf.fd.conf"
admin="host=127.0.0.1 port=$pg_port user=postgres dbname=ocs"

pg_cluster_start "$work/pg"
for f in "${sql[@]}"; do psql -X -q -v ON_ERROR_STOP=1 "$admin" -f "$f" >/dev/null; done

commits() { psql -X -tA "$admin" -c "SELECT xact_commit FROM pg_stat_database WHERE datname = 'ocs'"; }
hz=$(getconf CLK_TCK)

for ((run = 1; run <= runs; run++)); do
  psql -X -q "$admin" -c "VACUUM ANALYZE" -c "CHECKPOINT"
  freeDiameterd -c "$work/$conf.fd.conf" >"$work/alone.fd.log" 2>&1 </dev/null &
  fd=$!
  for ((t = 0; t < 300; t++)); do
    listening "$fd_port" && break
    kill -0 "$fd" 2>/dev/null || die "freeDiameterd exited (see $work/alone.fd.log)"
    sleep 0.05
  done
  sleep 0.5
  # shellcheck disable=SC2046 # one PID per word
  f0=$(proc_ticks "$fd") p0=$(proc_ticks $(pg_pids "$work/pg")) c0=$(commits)
  out=$("$bench" --label alone --connections "$DEFAULT_CONNECTIONS" --sessions "$DEFAULT_SESSIONS" \
    --duration "$seconds" --warmup 1 --subscribers "$DEFAULT_SUBSCRIBERS" --random --port "$fd_port" --rate "$rate" "${GY_LOAD_ARGS[@]}")
  # shellcheck disable=SC2046
  f1=$(proc_ticks "$fd") p1=$(proc_ticks $(pg_pids "$work/pg"))
  kill "$fd"
  wait "$fd" || true
  sleep 1  # the backends report their transactions at most once a second
  c1=$(commits)
  sent=$(grep '^RESULT ' <<<"$out" | sed 's/.* sent_total=\([0-9]*\).*/\1/')
  grep -E 'throughput|latency \(ms\)' <<<"$out"
  awk -v f=$((f1 - f0)) -v p=$((p1 - p0)) -v c=$((c1 - c0)) -v n="$sent" -v hz="$hz" -v db="$([[ $conf == ocs ]] && echo 1 || echo 0)" 'BEGIN {
    ms = 1000 / hz
    if (!db) { printf "  per CCR (ms)    freeDiameterd %.3f\n", f * ms / n; exit }
    printf "  per CCR (ms)    freeDiameterd %.3f  PostgreSQL %.3f\n", f * ms / n, p * ms / n
    if (c > 0) printf "  transactions    %d, %.1f CCRs each, PostgreSQL %.3f ms each\n", c, n / c, p * ms / c }'
done

# shellcheck shell=bash
# The Gy load and the CPU accounting shared by scripts/bench and
# tools/bench/gy_alone.sh. Source it after common.sh.
#
#   GY_LOAD_ARGS                      ocs-bench options of the Gy load
#   DEFAULT_SUBSCRIBERS, _SESSIONS, _CONNECTIONS   the load's default size
#   proc_ticks PID...                 CPU ticks the live processes used so far
#   pg_pids DIR                       the cluster's server and its backends

# The benchmark subscribers: MSISDN base + i, i = 0 .. N-1 (the demo's own
# subscribers use 4917000000xx).
readonly MSISDN_BASE=491600000000
# The demo plan's catch-all rating group: data, 1 MiB blocks rounded up,
# 0.02 EUR per block at any hour. (Rating group 10 has a peak and an
# off-peak price, which would make the expected charge depend on the clock.)
readonly RATING_GROUP=100
readonly PRICE_PER_BLOCK=2
readonly BLOCK=1048576
readonly USAGE_OCTETS=1000000
readonly UPDATES=3
# scripts/bench's defaults for the size of the load, which gy_alone.sh reruns.
# shellcheck disable=SC2034 # used by the scripts that source this file
readonly DEFAULT_SUBSCRIBERS=100000
# shellcheck disable=SC2034
readonly DEFAULT_SESSIONS=128
# shellcheck disable=SC2034
readonly DEFAULT_CONNECTIONS=2
# shellcheck disable=SC2034 # used by the scripts that source this file
readonly GY_LOAD_ARGS=(--updates "$UPDATES" --msisdn-base "$MSISDN_BASE" --rating-group "$RATING_GROUP"
  --usage-octets "$USAGE_OCTETS" --price-per-block "$PRICE_PER_BLOCK" --block "$BLOCK")

# CPU ticks (user + system, all threads) the given live processes used so far.
proc_ticks() {
  local t=0 p
  local -a f
  for p in "$@"; do
    read -r -a f <"/proc/$p/stat" 2>/dev/null || continue
    t=$((t + f[13] + f[14]))
  done
  echo "$t"
}

# pg_pids DIR: the PostgreSQL server of the cluster in DIR and its backends.
pg_pids() {
  local pm
  pm=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null) || return 0
  echo "$pm"
  pgrep -P "$pm" || true
}

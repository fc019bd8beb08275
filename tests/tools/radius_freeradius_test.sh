#!/usr/bin/env bash
# ocs-bench --protocol radius against a tiny real FreeRADIUS 3 with rlm_sql
# on PostgreSQL (the configuration scripts/bench radius uses): the run must
# get Accepts and no timeouts or bad answers (FreeRADIUS silently drops a
# packet whose authenticator or Message-Authenticator is wrong), radacct must
# hold exactly the octets the generator's Stops reported (so Gigawords were
# encoded right), and a wrong password must give Rejects.
#
#   radius_freeradius_test.sh OCS_BENCH      (needs OCS_TEST_DSN, as scripts/test sets)
set -euo pipefail
# shellcheck source=SCRIPTDIR/../../scripts/lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"
# shellcheck source=SCRIPTDIR/../../scripts/lib/freeradius.sh
source "$OCS_ROOT/scripts/lib/freeradius.sh"

bench=${1:?usage: radius_freeradius_test.sh OCS_BENCH}
[[ -n ${OCS_TEST_DSN:-} ]] || die "OCS_TEST_DSN is not set (run the tests through scripts/test)"
readonly USERS=50 SECRET=fr-test-secret

db="ocs_fr_test_$$_$RANDOM"
dsn="$OCS_TEST_DSN dbname=$db"  # a later dbname wins in a libpq conninfo
work=$(mktemp -d "${TMPDIR:-/tmp}/ocs-fr-test.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  set +e
  freeradius_stop
  "$PG_BIN/psql" "$OCS_TEST_DSN" -X -q -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  rm -rf -- "$work"
}
trap cleanup EXIT

"$PG_BIN/psql" "$OCS_TEST_DSN" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db"
freeradius_schema "$dsn" "$USERS" benchuser pw
auth=$(free_udp_port 41812)
acct=$(free_udp_port $((auth + 1)))
freeradius_config "$work/fr" "$auth" "$acct" "$SECRET" "$dsn" 2
freeradius_start "$work/fr"

run() {
  "$bench" --protocol radius --auth-port "$auth" --acct-port "$acct" --secret "$SECRET" \
    --connections 2 --sessions 8 --subscribers "$USERS" --updates 2 --gigaword-every 2 \
    --warmup 0.2 --duration "$@" | tee -a "$work/bench.out" | grep '^RESULT '
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
failed=0
check() {
  if [[ $2 == "$3" ]]; then echo "ok: $1 = $2"; else echo "FAIL: $1 = $2, expected $3"; failed=1; fi
}
positive() {
  if (($2 > 0)); then echo "ok: $1 = $2"; else echo "FAIL: $1 = $2, expected > 0"; failed=1; fi
}

good=$(run 1.5)
positive accepts "$(field "$good" accepts)"
positive sessions_completed "$(field "$good" sessions_completed)"
positive big_sessions_completed "$(field "$good" big_sessions_completed)"
positive classes_echoed "$(field "$good" classes_echoed)"
check rejects "$(field "$good" rejects)" 0
check timeouts "$(field "$good" timeouts)" 0
check bad_answers "$(field "$good" bad_answers)" 0
q() { "$PG_BIN/psql" "$dsn" -X -tA -v ON_ERROR_STOP=1 -c "$1"; }
check "radacct octets of stopped sessions" \
  "$(q "SELECT coalesce(sum(acctinputoctets + acctoutputoctets), 0) FROM radacct WHERE acctstoptime IS NOT NULL")" \
  "$(field "$good" accounted_octets)"
check "radacct stopped sessions" "$(q "SELECT count(*) FROM radacct WHERE acctstoptime IS NOT NULL")" \
  "$(field "$good" accounted_sessions)"
positive "radacct sessions past 4 GiB" "$(q "SELECT count(*) FROM radacct WHERE acctoutputoctets > 4294967295")"

bad=$(run 0.5 --password-prefix wrong)
positive "rejects (wrong password)" "$(field "$bad" rejects)"
check "accepts (wrong password)" "$(field "$bad" accepts)" 0
check "timeouts (wrong password)" "$(field "$bad" timeouts)" 0

if ((failed)); then
  echo "--- ocs-bench output"
  cat "$work/bench.out"
  echo "--- FreeRADIUS log"
  tail -n 30 "$work/fr/log/radius.log"
fi
exit "$failed"

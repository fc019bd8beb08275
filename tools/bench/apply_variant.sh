#!/bin/bash
# Writes a variant of the database's ocs_charge_apply_batch that leaves out
# some of a charge's row writes, for an experiment with gy_alone.sh: what
# PostgreSQL would spend per CCR with fewer rows (docs/benchmarks.md, "Gy:
# what a charge's rows cost"). Never for a database that matters: the
# variants break the ledger, usage and hold invariants on purpose.
#
#   tools/bench/apply_variant.sh DSN VARIANT > variant.sql
#
# VARIANT
#   as-is      the function as the database has it (to restore it)
#   3rows      without the debit ledger rows and usage records, and without
#              writing reservations: what is left is the stored answer, the
#              session row and the balance
#   2rows      3rows, and an Update no longer touches its session row (a
#              Terminate still closes it): the stored answer and the balance
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: apply_variant.sh DSN as-is|3rows|2rows" >&2; exit 2; }
dsn=$1 variant=$2
case $variant in as-is | 3rows | 2rows) ;; *) echo "unknown variant $variant" >&2; exit 2 ;; esac
def=$(psql -X -tA -v ON_ERROR_STOP=1 "$dsn" -c "SELECT pg_get_functiondef('ocs_charge_apply_batch(jsonb)'::regprocedure)")
if [[ $variant != as-is ]]; then
  # The debits statement runs from its "WITH d AS (" to the usage insert's
  # "FROM d ORDER BY ...;"; the account update before it stays.
  def=$(awk '/^    WITH d AS \($/ { skip = 1 } !skip { print } skip && /FROM d ORDER BY d.req, d.ordinality;/ { skip = 0 }' <<<"$def")
  def=${def/IF v_reservations THEN/IF false THEN}
  [[ $def != *"WITH d AS ("* && $def == *"IF false THEN"* ]] || { echo "the function is not the expected one (schema 11)" >&2; exit 1; }
fi
if [[ $variant == 2rows ]]; then
  old="WHERE r.session_write = 'touch' AND s.id = r.session;"
  [[ $def == *"$old"* ]] || { echo "the session update is not the expected one" >&2; exit 1; }
  def=${def/"$old"/"WHERE r.session_write = 'touch' AND r.close_reason IS NOT NULL AND s.id = r.session;"}
fi
printf '%s;\n' "$def"

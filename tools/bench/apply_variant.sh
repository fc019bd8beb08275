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
#   nodebit    without the debit ledger rows only (what a usage record that
#              is also the ledger's debit would save: schema 21 made it so)
#   nodebitusage  without the debit ledger rows and the usage records (what
#              debits carried by the stored answer's row would save)
# nodebit and nodebitusage are for a database of schema 11 to 20, which
# wrote a debit row beside each usage record.
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: apply_variant.sh DSN as-is|3rows|2rows|nodebit|nodebitusage" >&2; exit 2; }
dsn=$1 variant=$2
case $variant in as-is | 3rows | 2rows | nodebit | nodebitusage) ;; *) echo "unknown variant $variant" >&2; exit 2 ;; esac
def=$(psql -X -tA -v ON_ERROR_STOP=1 "$dsn" -c "SELECT pg_get_functiondef('ocs_charge_apply_batch(jsonb)'::regprocedure)")
version=$(psql -X -tA -v ON_ERROR_STOP=1 "$dsn" -c "SELECT max(version) FROM schema_version")
if [[ $variant == nodebit* && $version -gt 20 ]]; then
  echo "schema $version writes no debit rows of its own: $variant is for schemas 11 to 20" >&2
  exit 1
fi
if [[ $variant == nodebit* ]]; then
  # The data-modifying CTE still runs, and inserts nothing.
  old="WHERE d.cost <> 0 ORDER BY d.req, d.ordinality)"
  [[ $def == *"$old"* ]] || { echo "the debit insert is not the expected one" >&2; exit 1; }
  def=${def/"$old"/"WHERE false ORDER BY d.req, d.ordinality)"}
fi
if [[ $variant == nodebitusage ]]; then
  old="FROM d ORDER BY d.req, d.ordinality;"
  [[ $def == *"$old"* ]] || { echo "the usage insert is not the expected one" >&2; exit 1; }
  def=${def/"$old"/"FROM d WHERE false ORDER BY d.req, d.ordinality;"}
fi
if [[ $variant == *rows ]]; then
  # The debits statement runs from its "WITH d AS (" to the usage insert's
  # "FROM d ORDER BY ...;"; the account update before it stays.
  # (Schema 21: "FROM b ORDER BY b.req, b.ordinality;", the usage insert
  # that is also the debit.)
  def=$(awk '/^    WITH d AS \($/ { skip = 1 } !skip { print } skip && /FROM [db] ORDER BY [db].req, [db].ordinality;/ { skip = 0 }' <<<"$def")
  def=${def/IF v_reservations THEN/IF false THEN}
  [[ $def != *"WITH d AS ("* && $def == *"IF false THEN"* ]] || { echo "the function is not the expected one (schemas 11 to 21)" >&2; exit 1; }
fi
if [[ $variant == 2rows ]]; then
  old="WHERE r.session_write = 'touch' AND s.id = r.session;"
  [[ $def == *"$old"* ]] || { echo "the session update is not the expected one" >&2; exit 1; }
  def=${def/"$old"/"WHERE r.session_write = 'touch' AND r.close_reason IS NOT NULL AND s.id = r.session;"}
fi
printf '%s;\n' "$def"

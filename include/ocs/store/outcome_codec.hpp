// The stored form of a charging answer, so that a replayed request gets the
// very answer the first one got (charging_events.outcome).
//
// Format, version 2: UTF-8 text, one
// "key=value" per line, first line "v2". Top-level keys come first; then one
// [policy] section and any number of [result] sections, each header
// starting a new list element. Values escape '\' as "\\", LF as "\n", CR as
// "\r" and other control bytes as "\xHH"; a value may contain '=' (lines
// split at the first '='). Absent optional values are absent keys. Times are
// Unix seconds. An example:
//
//   v2
//   status=ok
//   subscriber_id=42
//   subscriber=alice
//   outcome=success
//   credit_exhausted=false
//   session_closed=false
//   [policy]
//   id=1
//   ...
//   [result]
//   rating_group=10
//   status=granted
//   grant.unit=octets_total
//   ...
//
// It holds what an answer is built from, nothing else. Version 1 ("v1")
// also held what the request wrote: "released" keys and [debit] and
// [reservation] sections, about a quarter of its size, which the ledger,
// usage_records and reservations rows of the request hold anyway, and which
// no answer reads. v1 texts (stored before v2) are still read, with those
// parts; a v2 text with them is refused. A new field means a new version
// line: stored texts must stay readable.
#pragma once

#include <string>
#include <string_view>

#include "ocs/store/store.hpp"

namespace ocs::store {

/// The text of `result`. Neither `replayed` nor what the request wrote
/// (decision.released, debits, reservations) is part of it.
std::string encode_outcome(const ChargeResult& result);

/// Parses encode_outcome's text (replayed = false). Throws StoreError(Invalid)
/// naming the line on unknown versions, keys or sections, repeated or missing
/// keys, bad numbers, bad escapes and unknown enum names.
ChargeResult decode_outcome(std::string_view text);

}  // namespace ocs::store

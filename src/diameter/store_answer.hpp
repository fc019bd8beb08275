// Shared by the Gy and Gx handlers: the answer to a request the store could
// not handle, and the request type as the logs show it.
#pragma once

#include <cstdint>
#include <optional>

#include "ocs/diameter/gy_model.hpp"
#include "ocs/store/store.hpp"

namespace ocs::fdx {

/// Result-Code for a StoreError: 3004 when the database is unavailable (the
/// client may try another server), 5004 for a value the model rejects,
/// 5012 otherwise.
inline std::uint32_t result_code_for(const store::StoreError& e) {
  switch (e.kind()) {
    case store::StoreError::Kind::Unavailable: return gy::kTooBusy;
    case store::StoreError::Kind::Invalid: return gy::kInvalidAvpValue;
    default: return gy::kUnableToComply;
  }
}

/// CC-Request-Type as one letter: I, U, T, E, or ? (absent or unknown).
inline const char* request_type_letter(std::optional<std::uint32_t> t) {
  if (!t) return "?";
  switch (*t) {
    case 1: return "I";
    case 2: return "U";
    case 3: return "T";
    case 4: return "E";
    default: return "?";
  }
}

/// The answer (Gy or Gx Cca) to a CCR the store failed on: only the
/// Result-Code and the request's type and number.
template <class Answer, class Request>
Answer store_error_answer(const Request& ccr, const store::StoreError& e) {
  Answer a;
  a.result_code = result_code_for(e);
  a.request_type = ccr.request_type.value_or(0);
  a.request_number = ccr.request_number.value_or(0);
  return a;
}

}  // namespace ocs::fdx

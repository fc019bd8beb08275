// Names of the store's enums, as the schema and the CLI spell them.
#include <array>
#include <string_view>
#include <utility>

#include "ocs/store/store.hpp"

namespace ocs::store {

namespace {
constexpr std::array<std::pair<IdentityKind, const char*>, 5> kIdentityKinds{{
    {IdentityKind::Msisdn, "msisdn"},
    {IdentityKind::Imsi, "imsi"},
    {IdentityKind::Nai, "nai"},
    {IdentityKind::SipUri, "sip_uri"},
    {IdentityKind::Username, "username"},
}};
}  // namespace

const char* to_string(IdentityKind k) {
  for (const auto& [kind, name] : kIdentityKinds)
    if (kind == k) return name;
  return "?";
}

std::optional<IdentityKind> identity_kind_from_string(std::string_view s) {
  for (const auto& [kind, name] : kIdentityKinds)
    if (s == name) return kind;
  return std::nullopt;
}

const char* to_string(ChargeStatus s) {
  switch (s) {
    case ChargeStatus::Ok: return "ok";
    case ChargeStatus::UserUnknown: return "user_unknown";
    case ChargeStatus::UnknownSession: return "unknown_session";
  }
  return "?";
}

}  // namespace ocs::store

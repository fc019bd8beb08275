#include "ocs/core/model.hpp"

#include <array>
#include <string_view>
#include <utility>

namespace ocs {

namespace {
template <typename E, std::size_t N>
std::optional<E> lookup(const std::array<std::pair<E, const char*>, N>& table, std::string_view s) {
  for (const auto& [value, name] : table)
    if (s == name) return value;
  return std::nullopt;
}
template <typename E, std::size_t N>
const char* name_of(const std::array<std::pair<E, const char*>, N>& table, E e) {
  for (const auto& [value, name] : table)
    if (value == e) return name;
  return "?";
}

constexpr std::array<std::pair<Unit, const char*>, 5> kUnits{{
    {Unit::OctetsTotal, "octets_total"},
    {Unit::OctetsInput, "octets_in"},
    {Unit::OctetsOutput, "octets_out"},
    {Unit::Seconds, "seconds"},
    {Unit::Events, "events"},
}};
constexpr std::array<std::pair<Rounding, const char*>, 3> kRoundings{{
    {Rounding::Up, "up"}, {Rounding::Down, "down"}, {Rounding::Nearest, "nearest"}}};
constexpr std::array<std::pair<SubscriberStatus, const char*>, 3> kStatuses{{
    {SubscriberStatus::Active, "active"},
    {SubscriberStatus::Suspended, "suspended"},
    {SubscriberStatus::Blocked, "blocked"}}};
constexpr std::array<std::pair<FinalUnitAction, const char*>, 3> kActions{{
    {FinalUnitAction::Terminate, "terminate"},
    {FinalUnitAction::Redirect, "redirect"},
    {FinalUnitAction::RestrictAccess, "restrict"}}};
}  // namespace

UnitFamily family_of(Unit u) {
  switch (u) {
    case Unit::Seconds: return UnitFamily::Seconds;
    case Unit::Events: return UnitFamily::Events;
    case Unit::OctetsTotal:
    case Unit::OctetsInput:
    case Unit::OctetsOutput: return UnitFamily::Octets;
  }
  return UnitFamily::Octets;
}

const char* to_string(Unit u) { return name_of(kUnits, u); }
std::optional<Unit> unit_from_string(std::string_view s) { return lookup(kUnits, s); }
const char* to_string(Rounding r) { return name_of(kRoundings, r); }
std::optional<Rounding> rounding_from_string(std::string_view s) { return lookup(kRoundings, s); }
const char* to_string(SubscriberStatus s) { return name_of(kStatuses, s); }
std::optional<SubscriberStatus> subscriber_status_from_string(std::string_view s) {
  return lookup(kStatuses, s);
}
const char* to_string(FinalUnitAction a) { return name_of(kActions, a); }
std::optional<FinalUnitAction> final_unit_action_from_string(std::string_view s) {
  return lookup(kActions, s);
}

const RatingGroupTariff* Plan::tariff_for(std::uint32_t rating_group) const {
  const RatingGroupTariff* any = nullptr;
  for (const auto& t : tariffs) {
    if (t.rating_group && *t.rating_group == rating_group) return &t;
    if (!t.rating_group && !any) any = &t;
  }
  return any;
}

}  // namespace ocs

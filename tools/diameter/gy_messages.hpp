// Builders for Gy requests with the independent client codec, shared by the
// end-to-end tests and the load generator.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "codec.hpp"

namespace ocs::dia::gy {

inline constexpr std::uint32_t kApp = 4;
inline constexpr std::uint32_t kInitial = 1, kUpdate = 2, kTermination = 3, kEvent = 4;

struct Units {
  std::optional<std::uint64_t> total, input, output;
  std::optional<std::uint32_t> time;
  std::optional<std::uint64_t> specific;
  std::optional<std::uint32_t> tariff_change_usage;  // USU only
};

inline std::vector<Avp> unit_avps(const Units& u) {
  std::vector<Avp> v;
  if (u.time) v.push_back(Avp::u32(code::CcTime, *u.time));
  if (u.total) v.push_back(Avp::u64(code::CcTotalOctets, *u.total));
  if (u.input) v.push_back(Avp::u64(code::CcInputOctets, *u.input));
  if (u.output) v.push_back(Avp::u64(code::CcOutputOctets, *u.output));
  if (u.specific) v.push_back(Avp::u64(code::CcServiceSpecificUnits, *u.specific));
  if (u.tariff_change_usage) v.push_back(Avp::u32(code::TariffChangeUsage, *u.tariff_change_usage));
  return v;
}

inline Units octets(std::uint64_t total) {
  Units u;
  u.total = total;
  return u;
}
inline Units directions(std::uint64_t input, std::uint64_t output) {
  Units u;
  u.input = input;
  u.output = output;
  return u;
}
inline Units seconds(std::uint32_t time) {
  Units u;
  u.time = time;
  return u;
}

/// An MSCC with an optional Rating-Group, an optional RSU and any USUs.
inline Avp mscc(std::optional<std::uint32_t> rating_group, std::optional<Units> rsu = Units{},
                const std::vector<Units>& used = {}) {
  std::vector<Avp> children;
  if (rsu) children.push_back(Avp::grouped(code::Rsu, unit_avps(*rsu)));
  for (const auto& u : used) children.push_back(Avp::grouped(code::Usu, unit_avps(u)));
  if (rating_group) children.push_back(Avp::u32(code::RatingGroup, *rating_group));
  return Avp::grouped(code::Mscc, children);
}

inline Avp subscription_id(std::uint32_t type, const std::string& data) {
  return Avp::grouped(code::SubscriptionId,
                      {Avp::u32(code::SubscriptionIdType, type), Avp::str(code::SubscriptionIdData, data)});
}

/// A CCR with the fixed AVPs of RFC 4006 3.1; add Subscription-Id and MSCCs.
inline Message ccr(const std::string& session_id, const std::string& origin_host, const std::string& origin_realm,
                   std::uint32_t type, std::uint32_t number,
                   const std::string& destination_realm = "localdomain") {
  Message m;
  m.flags = kFlagRequest | kFlagProxiable;
  m.code = code::CCR;
  m.app_id = kApp;
  m.add(Avp::str(code::SessionId, session_id))
      .add(Avp::str(code::OriginHost, origin_host))
      .add(Avp::str(code::OriginRealm, origin_realm))
      .add(Avp::str(code::DestinationRealm, destination_realm))
      .add(Avp::u32(code::AuthApplicationId, kApp))
      .add(Avp::str(code::ServiceContextId, "32251@3gpp.org"))
      .add(Avp::u32(code::CcRequestType, type))
      .add(Avp::u32(code::CcRequestNumber, number));
  return m;
}

/// The MSCCs of an answer.
inline std::vector<Avp> answer_msccs(const Message& a) {
  std::vector<Avp> out;
  for (const Avp* m : a.find_all(code::Mscc)) out.push_back(*m);
  return out;
}

}  // namespace ocs::dia::gy

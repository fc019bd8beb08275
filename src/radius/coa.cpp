#include "ocs/radius/coa.hpp"


namespace ocs::radius {

namespace {

constexpr std::uint8_t kNasIpAddress = 4;
constexpr std::uint8_t kNasIpv6Address = 95;
constexpr std::uint8_t kFramedIpAddress = 8;
constexpr std::uint8_t kFilterId = 11;
constexpr std::uint8_t kAcctSessionId = 44;
constexpr std::uint8_t kWisprRedirectionUrl = 4;

bool is_hotspot(NasVendor v) { return v == NasVendor::Chillispot || v == NasVendor::Wispr; }

Packet identified(std::uint8_t code, const CoaSession& s) {
  Packet p;
  p.code = code;
  add_string(p, attr::UserName, s.user_name);
  add_string(p, kAcctSessionId, s.acct_session_id);
  if (s.framed_ip) add_ipaddr(p, kFramedIpAddress, *s.framed_ip);
  if (s.nas_ipv6) {
    add_octets(p, kNasIpv6Address, *s.nas_ipv6);
  } else {
    add_ipaddr(p, kNasIpAddress, s.nas_ip);
  }
  return p;
}

CoaAction disconnect(const CoaSession& s, std::string reason) {
  return {CoaAction::Kind::Disconnect, identified(code::DisconnectRequest, s), std::move(reason)};
}

CoaAction coa_filter(const CoaSession& s, const std::string& filter_id, std::string reason) {
  CoaAction a{CoaAction::Kind::Coa, identified(code::CoaRequest, s), std::move(reason)};
  add_string(a.request, kFilterId, filter_id);
  return a;
}

}  // namespace

std::string_view to_string(CoaEvent e) {
  switch (e) {
    case CoaEvent::TopupWhileHotlined:
      return "topup-while-hotlined";
    case CoaEvent::Blocked:
      return "block";
    case CoaEvent::Exhausted:
      return "exhausted";
    case CoaEvent::RateChanged:
      return "rate-changed";
  }
  return "?";
}

CoaAction plan_coa(const CoaSession& s, CoaEvent event, const CoaPolicy& policy) {
  switch (event) {
    case CoaEvent::Blocked:
      return disconnect(s, "blocked");
    case CoaEvent::Exhausted:
      if (policy.on_exhausted == CoaPolicy::OnExhausted::Disconnect) return disconnect(s, "exhausted");
      if (is_hotspot(s.vendor)) {
        if (policy.redirect_url.empty()) return disconnect(s, "exhausted-no-redirect-url");
        CoaAction a{CoaAction::Kind::Coa, identified(code::CoaRequest, s), "hotline"};
        add_string(a.request, kWisprRedirectionUrl, policy.redirect_url, vendor_id::Wispr);
        return a;
      }
      if (policy.hotline_filter_id.empty()) return disconnect(s, "exhausted-no-hotline-filter");
      return coa_filter(s, policy.hotline_filter_id, "hotline");
    case CoaEvent::TopupWhileHotlined:
      if (is_hotspot(s.vendor)) return disconnect(s, "lift-hotline-by-reconnect");
      if (policy.normal_filter_id.empty()) return disconnect(s, "lift-hotline-by-reconnect");
      return coa_filter(s, policy.normal_filter_id, "lift-hotline");
    case CoaEvent::RateChanged: {
      if (policy.rate_limits.empty()) return {};
      CoaAction a{CoaAction::Kind::Coa, identified(code::CoaRequest, s), "rate-limits"};
      a.request.attributes.insert(a.request.attributes.end(), policy.rate_limits.begin(), policy.rate_limits.end());
      return a;
    }
  }
  return {};
}

std::string_view error_cause_name(std::uint32_t value) {
  switch (value) {
    case 201: return "Residual-Session-Context-Removed";
    case 202: return "Invalid-EAP-Packet";
    case 401: return "Unsupported-Attribute";
    case 402: return "Missing-Attribute";
    case 403: return "NAS-Identification-Mismatch";
    case 404: return "Invalid-Request";
    case 405: return "Unsupported-Service";
    case 406: return "Unsupported-Extension";
    case 407: return "Invalid-Attribute-Value";
    case 501: return "Administratively-Prohibited";
    case 502: return "Request-Not-Routable";
    case 503: return "Session-Context-Not-Found";
    case 504: return "Session-Context-Not-Removable";
    case 505: return "Other-Proxy-Processing-Error";
    case 506: return "Resources-Unavailable";
    case 507: return "Request-Initiated";
    case 508: return "Multiple-Session-Selection-Unsupported";
    default: return "Unknown";
  }
}

}  // namespace ocs::radius

#include <algorithm>
#include <limits>
#include <utility>

#include "ocs/common/utf8.hpp"
#include "ocs/diameter/gy_model.hpp"

namespace ocs::gy {

namespace {

Rejection reject(const Ccr& ccr, std::uint32_t code, std::uint32_t failed_avp) {
  Cca a;
  a.result_code = code;
  a.failed_avp = failed_avp;
  a.request_type = ccr.request_type.value_or(0);
  a.request_number = ccr.request_number.value_or(0);
  return Rejection{a};
}

UsageAmount to_amount(const ServiceUnits& u) {
  UsageAmount a;
  a.total_octets = u.total_octets;
  a.input_octets = u.input_octets;
  a.output_octets = u.output_octets;
  if (u.time) a.seconds = *u.time;
  a.events = u.service_specific_units;
  return a;
}

std::uint32_t clamp32(std::uint64_t v) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(v, std::numeric_limits<std::uint32_t>::max()));
}

ServiceUnits granted_units(const Grant& g) {
  ServiceUnits u;
  switch (g.unit) {
    case Unit::OctetsTotal: u.total_octets = g.units; break;
    case Unit::OctetsInput: u.input_octets = g.units; break;
    case Unit::OctetsOutput: u.output_octets = g.units; break;
    case Unit::Seconds: u.time = clamp32(g.units); break;
    case Unit::Events: u.service_specific_units = g.units; break;
  }
  return u;
}

FinalUnitIndication final_unit_for(const Policy& p, FinalUnitAction action) {
  FinalUnitIndication f;
  f.action = action;
  if (action == FinalUnitAction::Redirect) f.redirect_url = p.hotline_url;
  if (action == FinalUnitAction::RestrictAccess) f.filter_id = p.restriction_filter_id;
  return f;
}

CcaMscc answer_mscc(const CcrMscc& req, const RatingGroupResult* res, const Policy& policy) {
  CcaMscc m;
  m.rating_group = req.rating_group;
  m.service_identifier = req.service_identifier;
  if (!res) return m;
  switch (res->status) {
    case RgStatus::Granted:
      if (res->grant) {
        const Grant& g = *res->grant;
        m.granted = granted_units(g);
        if (g.validity_time > 0) m.validity_time = g.validity_time;
        if (g.tariff_time_change) m.tariff_time_change = to_ntp(*g.tariff_time_change);
        if (g.volume_quota_threshold) m.volume_quota_threshold = clamp32(*g.volume_quota_threshold);
        m.time_quota_threshold = g.time_quota_threshold;
        m.quota_holding_time = g.quota_holding_time;
        m.quota_consumption_time = g.quota_consumption_time;
        if (g.final_units) m.final_unit = final_unit_for(policy, policy.final_unit_action);
      }
      break;
    case RgStatus::NoGrantRequested: break;
    case RgStatus::Hotlined:
      // No credit but a captive portal: no GSU, redirect now, ask again
      // after the hotline period (RFC 4006 5.6.2).
      m.final_unit = final_unit_for(policy, FinalUnitAction::Redirect);
      m.validity_time = res->validity_time.value_or(policy.hotline_validity_time);
      break;
    case RgStatus::CreditLimitReached: m.result_code = policy.hotline_limit_reached_result_code; break;
    case RgStatus::Denied: m.result_code = policy.hotline_denied_result_code; break;
    case RgStatus::RatingFailed: m.result_code = kRatingFailed; break;
  }
  return m;
}

}  // namespace

std::optional<store::Identity> to_identity(const SubscriptionId& s) {
  using store::IdentityKind;
  switch (static_cast<SubscriptionIdType>(s.type)) {
    case SubscriptionIdType::E164: {
      std::string digits = s.data;
      if (!digits.empty() && digits.front() == '+') digits.erase(0, 1);
      return store::Identity{IdentityKind::Msisdn, digits};
    }
    case SubscriptionIdType::Imsi: return store::Identity{IdentityKind::Imsi, s.data};
    case SubscriptionIdType::SipUri: return store::Identity{IdentityKind::SipUri, s.data};
    case SubscriptionIdType::Nai: return store::Identity{IdentityKind::Nai, s.data};
    case SubscriptionIdType::Private: return std::nullopt;
  }
  return std::nullopt;
}

std::uint32_t to_ntp(TimePoint t) {
  const auto unix_seconds = static_cast<std::uint64_t>(t.time_since_epoch().count());
  return static_cast<std::uint32_t>((unix_seconds + 2208988800ull) & 0xffffffffull);
}

std::variant<store::ChargeRequest, Rejection> to_charge_request(const Ccr& ccr, const Options& opt) {
  if (!ccr.request_type) return reject(ccr, kMissingAvp, avp_code::kCcRequestType);
  if (*ccr.request_type < 1 || *ccr.request_type > 4) return reject(ccr, kInvalidAvpValue, avp_code::kCcRequestType);
  if (!ccr.request_number) return reject(ccr, kMissingAvp, avp_code::kCcRequestNumber);
  // UTF8String values that are not UTF-8 (RFC 6733 4.3.1): DIAMETER_INVALID_AVP_VALUE.
  if (!is_text(ccr.session_id)) return reject(ccr, kInvalidAvpValue, avp_code::kSessionId);
  const auto type = static_cast<RequestType>(*ccr.request_type);

  store::ChargeRequest req;
  req.session_id = ccr.session_id;
  req.request_key = std::to_string(*ccr.request_number);
  req.origin.protocol = "gy";
  req.origin.origin_host = ccr.origin_host;
  req.origin.origin_realm = ccr.origin_realm;
  switch (type) {
    case RequestType::Initial: req.credit.kind = RequestKind::Initial; break;
    case RequestType::Update: req.credit.kind = RequestKind::Update; break;
    case RequestType::Termination: req.credit.kind = RequestKind::Terminate; break;
    case RequestType::Event: req.credit.kind = RequestKind::Event; break;
  }

  if (type == RequestType::Event) {
    // DIRECT_DEBITING debits; CHECK_BALANCE and PRICE_ENQUIRY decide the
    // same debit and write nothing (store enquiry). REFUND_ACCOUNT is not
    // offered.
    if (!ccr.requested_action) return reject(ccr, kMissingAvp, avp_code::kRequestedAction);
    switch (static_cast<RequestedAction>(*ccr.requested_action)) {
      case RequestedAction::DirectDebiting: break;
      case RequestedAction::CheckBalance:
      case RequestedAction::PriceEnquiry: req.enquiry = true; break;
      default: return reject(ccr, kInvalidAvpValue, avp_code::kRequestedAction);
    }
  }

  if (type == RequestType::Initial || type == RequestType::Event) {
    if (ccr.subscription_ids.empty()) return reject(ccr, kMissingAvp, avp_code::kSubscriptionId);
    for (const auto& s : ccr.subscription_ids) {
      if (s.type > static_cast<std::uint32_t>(SubscriptionIdType::Private))
        return reject(ccr, kInvalidAvpValue, avp_code::kSubscriptionIdType);
      if (s.data.empty() || !is_text(s.data)) return reject(ccr, kInvalidAvpValue, avp_code::kSubscriptionIdData);
      if (auto id = to_identity(s)) req.identities.push_back(std::move(*id));
    }
  }

  for (const auto& m : ccr.mscc) {
    const std::uint32_t rg = m.rating_group.value_or(opt.default_rating_group);
    auto it = std::find_if(req.credit.rating_groups.begin(), req.credit.rating_groups.end(),
                           [&](const RatingGroupRequest& r) { return r.rating_group == rg; });
    if (it == req.credit.rating_groups.end()) {
      req.credit.rating_groups.push_back(RatingGroupRequest{});
      it = std::prev(req.credit.rating_groups.end());
      it->rating_group = rg;
    }
    if (m.requested && type != RequestType::Termination) {
      it->wants_grant = true;
      it->requested_amount = to_amount(*m.requested);
    }
    for (const auto& u : m.used) {
      UsageReport r;
      r.amount = to_amount(u.units);
      if (u.tariff_change_usage) {
        if (*u.tariff_change_usage > 2) return reject(ccr, kInvalidAvpValue, avp_code::kTariffChangeUsage);
        r.tariff_change = static_cast<TariffChangeUsage>(*u.tariff_change_usage);
      }
      it->used.push_back(std::move(r));
    }
  }
  // An event without MSCC debits one unit of the default rating group.
  if (type == RequestType::Event && req.credit.rating_groups.empty()) {
    RatingGroupRequest r;
    r.rating_group = opt.default_rating_group;
    r.wants_grant = true;
    req.credit.rating_groups.push_back(r);
  }
  return req;
}

namespace {

/// The answer to CHECK_BALANCE or PRICE_ENQUIRY (RFC 4006 6.2, 6.3): no
/// MSCC, no grant.
Cca enquiry_answer(Cca a, RequestedAction action, const store::ChargeResult& result) {
  const CreditDecision& d = result.decision;
  if (d.outcome == Outcome::Denied) {
    a.result_code = result.policy.hotline_denied_result_code;
    return a;
  }
  if (action == RequestedAction::CheckBalance) {
    if (d.outcome == Outcome::RatingFailed) {
      a.result_code = kRatingFailed;
      return a;
    }
    a.check_balance_result = d.outcome == Outcome::Success ? kEnoughCredit : kNoCredit;
    return a;
  }
  Money total = 0;
  for (const auto& p : result.prices) {
    if (!p.cost) {
      a.result_code = kRatingFailed;
      return a;
    }
    total += *p.cost;
  }
  const auto currency = iso4217_numeric(result.currency);
  if (!currency) {
    a.result_code = kUnableToComply;  // the handler logs why
    return a;
  }
  a.cost_information = Cca::CostInformation{total, -result.currency_exponent, *currency};
  return a;
}

}  // namespace

std::optional<std::uint32_t> iso4217_numeric(std::string_view alpha) {
  static constexpr std::pair<std::string_view, std::uint32_t> kCodes[] = {
      {"AED", 784}, {"ARS", 32},  {"AUD", 36},  {"BGN", 975}, {"BRL", 986}, {"CAD", 124}, {"CHF", 756},
      {"CLP", 152}, {"CNY", 156}, {"COP", 170}, {"CZK", 203}, {"DKK", 208}, {"EGP", 818}, {"EUR", 978},
      {"GBP", 826}, {"HKD", 344}, {"HUF", 348}, {"IDR", 360}, {"ILS", 376}, {"INR", 356}, {"ISK", 352},
      {"JPY", 392}, {"KES", 404}, {"KRW", 410}, {"KZT", 398}, {"MAD", 504}, {"MXN", 484}, {"MYR", 458},
      {"NGN", 566}, {"NOK", 578}, {"NZD", 554}, {"PEN", 604}, {"PHP", 608}, {"PKR", 586}, {"PLN", 985},
      {"RON", 946}, {"RSD", 941}, {"RUB", 643}, {"SAR", 682}, {"SEK", 752}, {"SGD", 702}, {"THB", 764},
      {"TRY", 949}, {"TWD", 901}, {"UAH", 980}, {"USD", 840}, {"VND", 704}, {"ZAR", 710},
  };
  for (const auto& [code, number] : kCodes)
    if (code == alpha) return number;
  return std::nullopt;
}

Cca to_cca(const Ccr& ccr, const store::ChargeResult& result, const Options& opt) {
  Cca a;
  a.request_type = ccr.request_type.value_or(0);
  a.request_number = ccr.request_number.value_or(0);
  switch (result.status) {
    case store::ChargeStatus::UserUnknown: a.result_code = kUserUnknown; return a;
    case store::ChargeStatus::UnknownSession: a.result_code = kUnknownSessionId; return a;
    case store::ChargeStatus::Ok: break;
  }
  if (a.request_type == static_cast<std::uint32_t>(RequestType::Event) && ccr.requested_action &&
      (*ccr.requested_action == static_cast<std::uint32_t>(RequestedAction::CheckBalance) ||
       *ccr.requested_action == static_cast<std::uint32_t>(RequestedAction::PriceEnquiry)))
    return enquiry_answer(std::move(a), static_cast<RequestedAction>(*ccr.requested_action), result);
  const CreditDecision& d = result.decision;
  switch (d.outcome) {
    case Outcome::Denied: a.result_code = result.policy.hotline_denied_result_code; return a;
    case Outcome::CreditLimitReached: a.result_code = result.policy.hotline_limit_reached_result_code; return a;
    case Outcome::RatingFailed: a.result_code = kRatingFailed; return a;
    case Outcome::Success:
    case Outcome::Hotlined: a.result_code = kSuccess; break;
  }
  if (a.request_type == static_cast<std::uint32_t>(RequestType::Termination)) return a;
  for (const auto& m : ccr.mscc) {
    const std::uint32_t rg = m.rating_group.value_or(opt.default_rating_group);
    const RatingGroupResult* res = nullptr;
    for (const auto& r : d.results)
      if (r.rating_group == rg) res = &r;
    a.mscc.push_back(answer_mscc(m, res, result.policy));
  }
  if (a.request_type == static_cast<std::uint32_t>(RequestType::Event) && ccr.mscc.empty() && !d.results.empty()) {
    a.mscc.push_back(answer_mscc(CcrMscc{}, &d.results.front(), result.policy));
  }
  return a;
}

}  // namespace ocs::gy

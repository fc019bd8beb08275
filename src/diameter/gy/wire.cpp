#include "wire.hpp"

#include <cstring>

namespace ocs::gy {

namespace fdx = ocs::fdx;
using fdx::enum_of;
using fdx::string_of;
using fdx::vendor_of;

namespace {
constexpr vendor_id_t k3gpp = 10415;

ServiceUnits read_units(avp* parent) {
  ServiceUnits u;
  fdx::for_each_child(parent, [&](avp* a) {
    const avp_hdr* h = fdx::header(a);
    if (vendor_of(h) != 0) return;
    switch (h->avp_code) {
      case 421: u.total_octets = fdx::u64_of(a); break;
      case 412: u.input_octets = fdx::u64_of(a); break;
      case 414: u.output_octets = fdx::u64_of(a); break;
      case 420: u.time = fdx::u32_of(a); break;
      case 417: u.service_specific_units = fdx::u64_of(a); break;
      default: break;
    }
  });
  return u;
}

CcrMscc read_mscc(avp* mscc) {
  CcrMscc m;
  fdx::for_each_child(mscc, [&](avp* a) {
    const avp_hdr* h = fdx::header(a);
    if (vendor_of(h) == k3gpp) {
      if (h->avp_code == 872) m.reporting_reason = enum_of(a);
      return;
    }
    if (vendor_of(h) != 0) return;
    switch (h->avp_code) {
      case 432: m.rating_group = fdx::u32_of(a); break;
      case 439: m.service_identifier = fdx::u32_of(a); break;
      case 437: m.requested = read_units(a); break;
      case 446: {
        UsedServiceUnit used;
        used.units = read_units(a);
        fdx::for_each_child(a, [&](avp* c) {
          const avp_hdr* ch = fdx::header(c);
          if (vendor_of(ch) == 0 && ch->avp_code == 452) used.tariff_change_usage = enum_of(c);
          if (vendor_of(ch) == k3gpp && ch->avp_code == 872) used.reporting_reason = enum_of(c);
        });
        m.used.push_back(used);
        break;
      }
      default: break;
    }
  });
  return m;
}

/// The first AVP with this code anywhere in the message (depth first).
avp* find_deep(msg_or_avp* parent, std::uint32_t code) {
  for (avp* a = fdx::browse(parent, MSG_BRW_FIRST_CHILD); a; a = fdx::browse(a, MSG_BRW_NEXT)) {
    const avp_hdr* h = fdx::header(a);
    if (h->avp_code == code) return a;
    if (!h->avp_value) {  // grouped (or unparsed): look inside
      if (avp* inner = find_deep(a, code)) return inner;
    }
  }
  return nullptr;
}

/// Appends to `parent` a copy of `src` (its value, or for a grouped AVP its
/// children). freeDiameter 1.2.1's own copy in fd_msg_rescode_set loses the
/// value and, for an empty OctetString, produces an AVP it then cannot
/// encode (the answer is dropped), so Failed-AVP is built here.
void copy_avp(msg_or_avp* parent, avp* src) {
  dict_object* model = nullptr;
  if (fd_msg_model(src, &model) != 0 || !model) return;  // unknown to the dictionary: left out
  dict_avp_data data{};
  fdx::fd_check(fd_dict_getval(model, &data), "fd_dict_getval");
  if (data.avp_basetype == AVP_TYPE_GROUPED) {
    avp* g = fdx::add_grouped(parent, model);
    fdx::for_each_child(src, [&](avp* c) { copy_avp(g, c); });
    return;
  }
  const avp_value* v = fdx::value_of(src);
  fdx::add_avp(parent, model, [&](avp* a) {
    static std::uint8_t nothing = 0;
    avp_value copy{};
    if (v) copy = *v;
    if (data.avp_basetype == AVP_TYPE_OCTETSTRING && !copy.os.data) {
      copy.os.data = &nothing;
      copy.os.len = 0;
    }
    fdx::fd_check(fd_msg_avp_setvalue(a, &copy), "fd_msg_avp_setvalue");
  });
}

/// An AVP of that code with an empty or zero value, for a missing AVP.
void add_empty_avp(msg_or_avp* parent, std::uint32_t code) {
  dict_object* model = fdx::try_find_avp(code);
  if (!model) model = fdx::try_find_avp(code, k3gpp);
  if (!model) return;
  dict_avp_data data{};
  fdx::fd_check(fd_dict_getval(model, &data), "fd_dict_getval");
  if (data.avp_basetype == AVP_TYPE_GROUPED) {
    fdx::add_grouped(parent, model);
    return;
  }
  fdx::add_avp(parent, model, [&](avp* a) {
    static std::uint8_t nothing = 0;
    avp_value zero{};
    if (data.avp_basetype == AVP_TYPE_OCTETSTRING) {
      zero.os.data = &nothing;
      zero.os.len = 0;
    }
    fdx::fd_check(fd_msg_avp_setvalue(a, &zero), "fd_msg_avp_setvalue");
  });
}

void write_units(avp* gsu, const ServiceUnits& u, const Dict& d) {
  if (u.total_octets) fdx::add_u64(gsu, d.cc_total_octets, *u.total_octets);
  if (u.input_octets) fdx::add_u64(gsu, d.cc_input_octets, *u.input_octets);
  if (u.output_octets) fdx::add_u64(gsu, d.cc_output_octets, *u.output_octets);
  if (u.time) fdx::add_u32(gsu, d.cc_time, *u.time);
  if (u.service_specific_units) fdx::add_u64(gsu, d.cc_service_specific_units, *u.service_specific_units);
}

void write_mscc(msg* ans, const CcaMscc& m, const Dict& d) {
  avp* g = fdx::add_grouped(ans, d.mscc);
  if (m.granted) {
    avp* gsu = fdx::add_grouped(g, d.gsu);
    if (m.tariff_time_change) fdx::add_time(gsu, d.tariff_time_change, *m.tariff_time_change);
    write_units(gsu, *m.granted, d);
  }
  if (m.rating_group) fdx::add_u32(g, d.rating_group, *m.rating_group);
  if (m.service_identifier) fdx::add_u32(g, d.service_identifier, *m.service_identifier);
  if (m.validity_time) fdx::add_u32(g, d.validity_time, *m.validity_time);
  fdx::add_u32(g, d.result_code, m.result_code);
  if (m.final_unit) {
    avp* fui = fdx::add_grouped(g, d.final_unit_indication);
    fdx::add_i32(fui, d.final_unit_action, static_cast<std::int32_t>(m.final_unit->action));
    if (m.final_unit->filter_id) fdx::add_str(fui, d.filter_id, *m.final_unit->filter_id);
    if (m.final_unit->redirect_url) {
      avp* rs = fdx::add_grouped(fui, d.redirect_server);
      fdx::add_i32(rs, d.redirect_address_type, static_cast<std::int32_t>(kRedirectUrl));
      fdx::add_str(rs, d.redirect_server_address, *m.final_unit->redirect_url);
    }
  }
  if (m.time_quota_threshold) fdx::add_u32(g, d.time_quota_threshold, *m.time_quota_threshold);
  if (m.volume_quota_threshold) fdx::add_u32(g, d.volume_quota_threshold, *m.volume_quota_threshold);
  if (m.quota_holding_time) fdx::add_u32(g, d.quota_holding_time, *m.quota_holding_time);
  if (m.quota_consumption_time) fdx::add_u32(g, d.quota_consumption_time, *m.quota_consumption_time);
}

}  // namespace

void write_result(msg* ans, std::uint32_t code, std::optional<std::uint32_t> failed, msg* request,
                  dict_object* result_code) {
  if ((code == kMissingAvp || code == kInvalidAvpValue) && failed) {
    fdx::set_result(ans, code == kMissingAvp ? "DIAMETER_MISSING_AVP" : "DIAMETER_INVALID_AVP_VALUE");
    avp* failed_avp = fdx::add_grouped(ans, fdx::find_avp(279));
    if (avp* a = find_deep(request, *failed)) {
      copy_avp(failed_avp, a);
    } else {
      add_empty_avp(failed_avp, *failed);
    }
    return;
  }
  fdx::fd_check(fd_msg_add_origin(ans, 0), "fd_msg_add_origin");
  fdx::add_u32(ans, result_code, code);
  if (code / 1000 == 3) fdx::header(ans)->msg_flags |= CMD_FLAG_ERROR;
}

SubscriptionId read_subscription_id(avp* a) {
  SubscriptionId s;
  bool has_type = false;
  fdx::for_each_child(a, [&](avp* x) {
    const avp_hdr* xh = fdx::header(x);
    if (xh->avp_code == 450 && enum_of(x)) {
      s.type = *enum_of(x);
      has_type = true;
    }
    if (xh->avp_code == 444) s.data = string_of(x);
  });
  if (!has_type) s.type = 0xffffffffu;  // reported as an invalid type
  return s;
}

Dict Dict::resolve() {
  Dict d;
  d.app = fdx::find_application(4);
  d.ccr = fdx::find_command(272, true);
  d.rar = fdx::find_command(258, true);
  d.asr = fdx::find_command(274, true);
  d.session_id = fdx::find_avp(263);
  d.origin_host = fdx::find_avp(264);
  d.origin_realm = fdx::find_avp(296);
  d.destination_host = fdx::find_avp(293);
  d.destination_realm = fdx::find_avp(283);
  d.auth_application_id = fdx::find_avp(258);
  d.result_code = fdx::find_avp(268);
  d.re_auth_request_type = fdx::find_avp(285);
  d.termination_cause = fdx::find_avp(295);
  d.cc_request_type = fdx::find_avp(416);
  d.cc_request_number = fdx::find_avp(415);
  d.requested_action = fdx::find_avp(436);
  d.subscription_id = fdx::find_avp(443);
  d.subscription_id_type = fdx::find_avp(450);
  d.subscription_id_data = fdx::find_avp(444);
  d.mscc = fdx::find_avp(456);
  d.rating_group = fdx::find_avp(432);
  d.service_identifier = fdx::find_avp(439);
  d.rsu = fdx::find_avp(437);
  d.usu = fdx::find_avp(446);
  d.gsu = fdx::find_avp(431);
  d.cc_total_octets = fdx::find_avp(421);
  d.cc_input_octets = fdx::find_avp(412);
  d.cc_output_octets = fdx::find_avp(414);
  d.cc_time = fdx::find_avp(420);
  d.cc_service_specific_units = fdx::find_avp(417);
  d.tariff_change_usage = fdx::find_avp(452);
  d.tariff_time_change = fdx::find_avp(451);
  d.validity_time = fdx::find_avp(448);
  d.final_unit_indication = fdx::find_avp(430);
  d.final_unit_action = fdx::find_avp(449);
  d.redirect_server = fdx::find_avp(434);
  d.redirect_address_type = fdx::find_avp(433);
  d.redirect_server_address = fdx::find_avp(435);
  d.filter_id = fdx::find_avp(11);
  d.reporting_reason = fdx::find_avp(872, k3gpp);
  d.volume_quota_threshold = fdx::find_avp(869, k3gpp);
  d.time_quota_threshold = fdx::find_avp(868, k3gpp);
  d.quota_holding_time = fdx::find_avp(871, k3gpp);
  d.quota_consumption_time = fdx::find_avp(881, k3gpp);
  d.check_balance_result = fdx::find_avp(422);
  d.cost_information = fdx::find_avp(423);
  d.unit_value = fdx::find_avp(445);
  d.value_digits = fdx::find_avp(447);
  d.exponent = fdx::find_avp(429);
  d.currency_code = fdx::find_avp(425);
  return d;
}

void read_ccr_flags(msg* request, CcrHeader& c) {
  c.retransmission = (fdx::header(request)->msg_flags & CMD_FLAG_RETRANSMIT) != 0;
}

bool read_ccr_header(avp* a, CcrHeader& c) {
  const avp_hdr* h = fdx::header(a);
  if (vendor_of(h) != 0) return false;
  switch (h->avp_code) {
    case 263: c.session_id = string_of(a); return true;
    case 264: c.origin_host = string_of(a); return true;
    case 296: c.origin_realm = string_of(a); return true;
    case 416: c.request_type = enum_of(a); return true;
    case 415: c.request_number = fdx::u32_of(a); return true;
    case 443: c.subscription_ids.push_back(read_subscription_id(a)); return true;
    default: return false;
  }
}

Ccr read_ccr(msg* request, const Dict& /*d*/) {
  Ccr c;
  read_ccr_flags(request, c);
  fdx::for_each_child(request, [&](avp* a) {
    if (read_ccr_header(a, c)) return;
    const avp_hdr* h = fdx::header(a);
    if (vendor_of(h) != 0) return;
    switch (h->avp_code) {
      case 436: c.requested_action = enum_of(a); break;
      case 295: c.termination_cause = enum_of(a); break;
      case 456: c.mscc.push_back(read_mscc(a)); break;
      default: break;
    }
  });
  return c;
}

void build_cca(msg** pmsg, const Cca& cca, const Dict& d) {
  msg* request = *pmsg;
  fdx::make_answer(pmsg);
  msg* ans = *pmsg;
  write_result(ans, cca.result_code, cca.failed_avp, request, d.result_code);
  fdx::add_u32(ans, d.auth_application_id, 4);
  if (cca.request_type) fdx::add_i32(ans, d.cc_request_type, static_cast<std::int32_t>(cca.request_type));
  fdx::add_u32(ans, d.cc_request_number, cca.request_number);
  for (const auto& m : cca.mscc) write_mscc(ans, m, d);
  if (cca.check_balance_result)
    fdx::add_i32(ans, d.check_balance_result, static_cast<std::int32_t>(*cca.check_balance_result));
  if (cca.cost_information) {
    // Cost-Information ::= { Unit-Value } { Currency-Code } [ Cost-Unit ]
    // Unit-Value ::= { Value-Digits } [ Exponent ]  (RFC 4006 8.7, 8.8)
    avp* cost = fdx::add_grouped(ans, d.cost_information);
    avp* unit_value = fdx::add_grouped(cost, d.unit_value);
    fdx::add_i64(unit_value, d.value_digits, cca.cost_information->value_digits);
    fdx::add_i32(unit_value, d.exponent, cca.cost_information->exponent);
    fdx::add_u32(cost, d.currency_code, cca.cost_information->currency_code);
  }
}

void answer_with(msg** pmsg, std::uint32_t result_code, const Dict& d) noexcept {
  if (!pmsg || !*pmsg) return;
  try {
    Ccr c = read_ccr(*pmsg, d);
    Cca a;
    a.result_code = result_code;
    a.request_type = c.request_type.value_or(0);
    a.request_number = c.request_number.value_or(0);
    build_cca(pmsg, a, d);
    fdx::send(pmsg);
  } catch (const std::exception& e) {
    fdx::log_error(std::string("ocs gy: cannot answer ") + std::to_string(result_code) + ": " + e.what());
    fdx::answer_error(pmsg);
  }
}

}  // namespace ocs::gy

#include "wire.hpp"

#include "../gy/wire.hpp"

namespace ocs::gx {

namespace fdx = ocs::fdx;
using fdx::enum_of;
using fdx::string_of;
using fdx::vendor_of;

namespace {

UsageMonitoring read_usage(avp* umi) {
  UsageMonitoring u;
  fdx::for_each_child(umi, [&](avp* a) {
    const avp_hdr* h = fdx::header(a);
    if (vendor_of(h) == kVendor3gpp && h->avp_code == 1066) {
      if (auto s = fdx::str_of(a)) u.monitoring_key = std::string(*s);
    } else if (vendor_of(h) == 0 && h->avp_code == 446) {
      u.has_used = true;
      fdx::for_each_child(a, [&](avp* c) {
        const avp_hdr* ch = fdx::header(c);
        if (vendor_of(ch) != 0) return;
        if (ch->avp_code == 421) u.total_octets = fdx::u64_of(c);
        if (ch->avp_code == 412) u.input_octets = fdx::u64_of(c);
        if (ch->avp_code == 414) u.output_octets = fdx::u64_of(c);
      });
    }
  });
  return u;
}

void write_rules(msg_or_avp* parent, const PolicyInstall& p, const Dict& d) {
  if (p.rule_names.empty() && p.rule_base_names.empty() && p.rule_definitions.empty()) return;
  avp* install = fdx::add_grouped(parent, d.charging_rule_install);
  for (const auto& def : p.rule_definitions) {
    avp* g = fdx::add_grouped(install, d.charging_rule_definition);
    fdx::add_str(g, d.charging_rule_name, def.name);
    if (def.rating_group) fdx::add_u32(g, d.rating_group, *def.rating_group);
    for (const auto& flow : def.flows) {
      avp* fi = fdx::add_grouped(g, d.flow_information);
      fdx::add_str(fi, d.flow_description, flow);
    }
    fdx::add_i32(g, d.online, def.online ? 1 : 0);    // ENABLE_ONLINE / DISABLE_ONLINE
    fdx::add_i32(g, d.offline, def.offline ? 1 : 0);  // ENABLE_OFFLINE / DISABLE_OFFLINE
    fdx::add_u32(g, d.precedence, def.precedence);
    if (def.monitoring_key) fdx::add_str(g, d.monitoring_key, *def.monitoring_key);
    if (def.redirect_url) {
      avp* ri = fdx::add_grouped(g, d.redirect_information);
      fdx::add_i32(ri, d.redirect_support, 1);  // REDIRECTION_ENABLED
      fdx::add_i32(ri, d.redirect_address_type, static_cast<std::int32_t>(gy::kRedirectUrl));
      fdx::add_str(ri, d.redirect_server_address, *def.redirect_url);
    }
  }
  for (const auto& n : p.rule_names) fdx::add_str(install, d.charging_rule_name, n);
  for (const auto& n : p.rule_base_names) fdx::add_str(install, d.charging_rule_base_name, n);
}

void write_remove(msg_or_avp* parent, const InstalledRules& r, const Dict& d) {
  if (r.names.empty() && r.base_names.empty()) return;
  avp* remove = fdx::add_grouped(parent, d.charging_rule_remove);
  for (const auto& n : r.names) fdx::add_str(remove, d.charging_rule_name, n);
  for (const auto& n : r.base_names) fdx::add_str(remove, d.charging_rule_base_name, n);
}

void write_qos(msg_or_avp* parent, const PolicyInstall& p, const Dict& d) {
  if (p.apn_ambr_ul || p.apn_ambr_dl) {
    avp* qos = fdx::add_grouped(parent, d.qos_information);
    if (p.apn_ambr_ul) fdx::add_u32(qos, d.apn_ambr_ul, *p.apn_ambr_ul);
    if (p.apn_ambr_dl) fdx::add_u32(qos, d.apn_ambr_dl, *p.apn_ambr_dl);
  }
  // Always complete: QCI and the whole ARP (Open5GS rejects a partial one).
  avp* def = fdx::add_grouped(parent, d.default_eps_bearer_qos);
  fdx::add_i32(def, d.qci, static_cast<std::int32_t>(p.qci));
  avp* arp = fdx::add_grouped(def, d.arp);
  fdx::add_u32(arp, d.priority_level, p.arp_priority);
  fdx::add_i32(arp, d.preemption_capability, static_cast<std::int32_t>(p.preemption_capability));
  fdx::add_i32(arp, d.preemption_vulnerability, static_cast<std::int32_t>(p.preemption_vulnerability));
}

void write_monitoring(msg_or_avp* parent, const std::vector<MonitoringGrant>& grants, const Dict& d) {
  for (const auto& g : grants) {
    avp* umi = fdx::add_grouped(parent, d.usage_monitoring_information);
    fdx::add_str(umi, d.monitoring_key, g.monitoring_key);
    avp* gsu = fdx::add_grouped(umi, d.gsu);
    fdx::add_u64(gsu, d.cc_total_octets, g.octets);
    fdx::add_i32(umi, d.usage_monitoring_level, static_cast<std::int32_t>(kSessionLevel));
  }
}

void write_triggers(msg_or_avp* parent, const std::vector<std::uint32_t>& triggers,
                    const std::optional<std::uint32_t>& revalidation_time, const Dict& d) {
  for (auto t : triggers) fdx::add_i32(parent, d.event_trigger, static_cast<std::int32_t>(t));
  if (revalidation_time) fdx::add_time(parent, d.revalidation_time, *revalidation_time);
}

void write_install(msg_or_avp* parent, const std::optional<PolicyInstall>& install, const InstalledRules& remove,
                   const std::vector<MonitoringGrant>& monitoring, const Dict& d) {
  write_remove(parent, remove, d);
  if (install) {
    write_rules(parent, *install, d);
    write_triggers(parent, install->event_triggers, install->revalidation_time, d);
    write_qos(parent, *install, d);
  }
  write_monitoring(parent, monitoring, d);
}

}  // namespace

Dict Dict::resolve() {
  constexpr vendor_id_t v = kVendor3gpp;
  Dict d;
  d.app = fdx::find_application(kAppId);
  d.vendor_3gpp = fdx::find_vendor(v);
  d.ccr = fdx::find_command(272, true);
  d.rar = fdx::find_command(258, true);
  d.session_id = fdx::find_avp(263);
  d.destination_host = fdx::find_avp(293);
  d.destination_realm = fdx::find_avp(283);
  d.auth_application_id = fdx::find_avp(258);
  d.result_code = fdx::find_avp(268);
  d.re_auth_request_type = fdx::find_avp(285);
  d.cc_request_type = fdx::find_avp(416);
  d.cc_request_number = fdx::find_avp(415);
  d.vendor_id = fdx::find_avp(266);
  d.rating_group = fdx::find_avp(432);
  d.gsu = fdx::find_avp(431);
  d.cc_total_octets = fdx::find_avp(421);
  d.redirect_address_type = fdx::find_avp(433);
  d.redirect_server_address = fdx::find_avp(435);
  d.supported_features = fdx::find_avp(628, v);
  d.feature_list_id = fdx::find_avp(629, v);
  d.feature_list = fdx::find_avp(630, v);
  d.charging_rule_install = fdx::find_avp(1001, v);
  d.charging_rule_remove = fdx::find_avp(1002, v);
  d.charging_rule_definition = fdx::find_avp(1003, v);
  d.charging_rule_base_name = fdx::find_avp(1004, v);
  d.charging_rule_name = fdx::find_avp(1005, v);
  d.event_trigger = fdx::find_avp(1006, v);
  d.offline = fdx::find_avp(1008, v);
  d.online = fdx::find_avp(1009, v);
  d.precedence = fdx::find_avp(1010, v);
  d.qos_information = fdx::find_avp(1016, v);
  d.qci = fdx::find_avp(1028, v);
  d.arp = fdx::find_avp(1034, v);
  d.apn_ambr_dl = fdx::find_avp(1040, v);
  d.apn_ambr_ul = fdx::find_avp(1041, v);
  d.priority_level = fdx::find_avp(1046, v);
  d.preemption_capability = fdx::find_avp(1047, v);
  d.preemption_vulnerability = fdx::find_avp(1048, v);
  d.default_eps_bearer_qos = fdx::find_avp(1049, v);
  d.flow_information = fdx::find_avp(1058, v);
  d.flow_description = fdx::find_avp(507, v);
  d.monitoring_key = fdx::find_avp(1066, v);
  d.usage_monitoring_information = fdx::find_avp(1067, v);
  d.usage_monitoring_level = fdx::find_avp(1068, v);
  d.redirect_information = fdx::find_avp(1085, v);
  d.redirect_support = fdx::find_avp(1086, v);
  d.session_release_cause = fdx::find_avp(1045, v);
  d.revalidation_time = fdx::find_avp(1042, v);
  return d;
}

Ccr read_ccr(msg* request, const Dict& /*d*/) {
  Ccr c;
  gy::read_ccr_flags(request, c);
  fdx::for_each_child(request, [&](avp* a) {
    if (gy::read_ccr_header(a, c)) return;
    const avp_hdr* h = fdx::header(a);
    if (vendor_of(h) != kVendor3gpp) return;
    if (h->avp_code == 1067) c.usage.push_back(read_usage(a));
    if (h->avp_code == 628) {
      c.feature_list_id = fdx::u32_of(fdx::first_child(a, 629, kVendor3gpp));
      c.feature_list = fdx::u32_of(fdx::first_child(a, 630, kVendor3gpp));
    }
  });
  return c;
}

void build_cca(msg** pmsg, const Cca& cca, const Dict& d) {
  msg* request = *pmsg;
  fdx::make_answer(pmsg);
  msg* ans = *pmsg;
  gy::write_result(ans, cca.result_code, cca.failed_avp, request, d.result_code);
  fdx::add_u32(ans, d.auth_application_id, kAppId);
  if (cca.request_type) fdx::add_i32(ans, d.cc_request_type, static_cast<std::int32_t>(cca.request_type));
  fdx::add_u32(ans, d.cc_request_number, cca.request_number);
  if (cca.supported_features) {
    avp* sf = fdx::add_grouped(ans, d.supported_features);
    fdx::add_u32(sf, d.vendor_id, kVendor3gpp);
    fdx::add_u32(sf, d.feature_list_id, kFeatureListId);
    fdx::add_u32(sf, d.feature_list, *cca.supported_features);
  }
  write_install(ans, cca.install, cca.remove, cca.monitoring, d);
  if (cca.revalidation) write_triggers(ans, cca.revalidation->event_triggers, cca.revalidation->time, d);
}

void answer_with(msg** pmsg, std::uint32_t result_code, const Dict& d) noexcept {
  if (!pmsg || !*pmsg) return;
  try {
    const Ccr c = read_ccr(*pmsg, d);
    Cca a;
    a.result_code = result_code;
    a.request_type = c.request_type.value_or(0);
    a.request_number = c.request_number.value_or(0);
    build_cca(pmsg, a, d);
    fdx::send(pmsg);
  } catch (const std::exception& e) {
    fdx::log_error(std::string("ocs gx: cannot answer ") + std::to_string(result_code) + ": " + e.what());
    fdx::answer_error(pmsg);
  }
}

msg* build_rar(const store::SessionOrigin& origin, const std::string& session_id, const Rar& rar, const Dict& d) {
  msg* m = nullptr;
  fdx::fd_check(fd_msg_new(d.rar, MSGFL_ALLOC_ETEID, &m), "fd_msg_new");
  fdx::MsgPtr owned(m);
  fdx::header(m)->msg_appl = kAppId;  // the base command has no application
  fdx::add_session_id(m, d.session_id, session_id);
  fdx::add_u32(m, d.auth_application_id, kAppId);
  fdx::fd_check(fd_msg_add_origin(m, 0), "fd_msg_add_origin");
  fdx::add_str(m, d.destination_realm, origin.origin_realm);
  fdx::add_str(m, d.destination_host, origin.origin_host);
  fdx::add_i32(m, d.re_auth_request_type, 0);  // AUTHORIZE_ONLY
  if (rar.release_cause) {
    fdx::add_i32(m, d.session_release_cause, static_cast<std::int32_t>(*rar.release_cause));
  } else {
    write_install(m, rar.install, rar.remove, rar.monitoring, d);
  }
  return owned.release();
}

}  // namespace ocs::gx

// Gx on the wire: freeDiameter messages <-> the plain model of gx_model.hpp.
// No policy logic here; everything an answer or RAR says comes from a
// gx::Cca or gx::Rar.
#pragma once

#include <string>

#include "fdx_util.hpp"
#include "ocs/diameter/gx_model.hpp"
#include "ocs/store/store.hpp"

namespace ocs::gx {

/// Every dictionary object the Gx front-end uses, resolved once at start-up.
struct Dict {
  dict_object* app = nullptr;  // Gx, 16777238 (created by dict_ocs.fdx)
  dict_object* vendor_3gpp = nullptr;
  dict_object* ccr = nullptr;
  dict_object* rar = nullptr;

  dict_object* session_id = nullptr;
  dict_object* destination_host = nullptr;
  dict_object* destination_realm = nullptr;
  dict_object* auth_application_id = nullptr;
  dict_object* result_code = nullptr;
  dict_object* re_auth_request_type = nullptr;
  dict_object* cc_request_type = nullptr;
  dict_object* cc_request_number = nullptr;
  dict_object* vendor_id = nullptr;
  dict_object* rating_group = nullptr;
  dict_object* gsu = nullptr;
  dict_object* cc_total_octets = nullptr;
  dict_object* redirect_address_type = nullptr;
  dict_object* redirect_server_address = nullptr;

  // 3GPP (vendor 10415)
  dict_object* supported_features = nullptr;
  dict_object* feature_list_id = nullptr;
  dict_object* feature_list = nullptr;
  dict_object* charging_rule_install = nullptr;
  dict_object* charging_rule_remove = nullptr;
  dict_object* charging_rule_definition = nullptr;
  dict_object* charging_rule_base_name = nullptr;
  dict_object* charging_rule_name = nullptr;
  dict_object* event_trigger = nullptr;
  dict_object* offline = nullptr;
  dict_object* online = nullptr;
  dict_object* precedence = nullptr;
  dict_object* qos_information = nullptr;
  dict_object* qci = nullptr;
  dict_object* arp = nullptr;
  dict_object* apn_ambr_dl = nullptr;
  dict_object* apn_ambr_ul = nullptr;
  dict_object* priority_level = nullptr;
  dict_object* preemption_capability = nullptr;
  dict_object* preemption_vulnerability = nullptr;
  dict_object* default_eps_bearer_qos = nullptr;
  dict_object* flow_information = nullptr;
  dict_object* flow_description = nullptr;
  dict_object* monitoring_key = nullptr;
  dict_object* usage_monitoring_information = nullptr;
  dict_object* usage_monitoring_level = nullptr;
  dict_object* redirect_information = nullptr;
  dict_object* redirect_support = nullptr;
  dict_object* session_release_cause = nullptr;
  dict_object* revalidation_time = nullptr;

  /// Throws fdx::FdError naming the first object that is missing.
  static Dict resolve();
};

/// Reads a parsed Gx CCR.
Ccr read_ccr(msg* request, const Dict& d);

/// Turns the request in *pmsg into its answer and fills it from `cca`.
void build_cca(msg** pmsg, const Cca& cca, const Dict& d);

/// Answers the request in *pmsg with a bare result code and sends it.
/// Never throws.
void answer_with(msg** pmsg, std::uint32_t result_code, const Dict& d) noexcept;

/// A RAR for `session` (application 16777238 in the header, Destination-Host
/// = the PCEF's Origin-Host) carrying `rar`. The caller owns the result.
msg* build_rar(const store::SessionOrigin& origin, const std::string& session_id, const Rar& rar, const Dict& d);

}  // namespace ocs::gx

// Gy on the wire: freeDiameter messages <-> the plain model of gy_model.hpp.
// No charging logic here; everything the answer says comes from a gy::Cca.
#pragma once

#include <string>

#include "fdx_util.hpp"
#include "ocs/diameter/gy_model.hpp"

namespace ocs::gy {

/// Every dictionary object the Gy front-end uses, resolved once at start-up
/// (a missing one fails the extension's load, loudly). Read-only afterwards.
struct Dict {
  dict_object* app = nullptr;  // Auth-Application-Id 4
  dict_object* ccr = nullptr;
  dict_object* rar = nullptr;
  dict_object* asr = nullptr;

  dict_object* session_id = nullptr;
  dict_object* origin_host = nullptr;
  dict_object* origin_realm = nullptr;
  dict_object* destination_host = nullptr;
  dict_object* destination_realm = nullptr;
  dict_object* auth_application_id = nullptr;
  dict_object* result_code = nullptr;
  dict_object* re_auth_request_type = nullptr;
  dict_object* termination_cause = nullptr;

  dict_object* cc_request_type = nullptr;
  dict_object* cc_request_number = nullptr;
  dict_object* requested_action = nullptr;
  dict_object* subscription_id = nullptr;
  dict_object* subscription_id_type = nullptr;
  dict_object* subscription_id_data = nullptr;
  dict_object* mscc = nullptr;
  dict_object* rating_group = nullptr;
  dict_object* service_identifier = nullptr;
  dict_object* rsu = nullptr;
  dict_object* usu = nullptr;
  dict_object* gsu = nullptr;
  dict_object* cc_total_octets = nullptr;
  dict_object* cc_input_octets = nullptr;
  dict_object* cc_output_octets = nullptr;
  dict_object* cc_time = nullptr;
  dict_object* cc_service_specific_units = nullptr;
  dict_object* tariff_change_usage = nullptr;
  dict_object* tariff_time_change = nullptr;
  dict_object* validity_time = nullptr;
  dict_object* final_unit_indication = nullptr;
  dict_object* final_unit_action = nullptr;
  dict_object* redirect_server = nullptr;
  dict_object* redirect_address_type = nullptr;
  dict_object* redirect_server_address = nullptr;
  dict_object* filter_id = nullptr;
  dict_object* reporting_reason = nullptr;         // 3GPP
  dict_object* volume_quota_threshold = nullptr;   // 3GPP
  dict_object* time_quota_threshold = nullptr;     // 3GPP
  dict_object* quota_holding_time = nullptr;       // 3GPP
  dict_object* quota_consumption_time = nullptr;   // 3GPP
  dict_object* check_balance_result = nullptr;
  dict_object* cost_information = nullptr;
  dict_object* unit_value = nullptr;
  dict_object* value_digits = nullptr;
  dict_object* exponent = nullptr;
  dict_object* currency_code = nullptr;

  /// Throws fdx::FdError naming the first object that is missing.
  static Dict resolve();
};

/// Reads a parsed CCR. Values the dictionary could not parse read as absent
/// (the mapping then answers 5005 / 5004).
Ccr read_ccr(msg* request, const Dict& d);

/// Turns the request in *pmsg into its answer and fills it from `cca`.
/// For 5004/5005 the Failed-AVP holds the offending AVP copied from the
/// request, or an empty AVP of that code when the request has none.
void build_cca(msg** pmsg, const Cca& cca, const Dict& d);

/// Adds Result-Code `code` (with Origin-Host/Realm; E bit for 3xxx). For
/// 5004/5005 with `failed`: Failed-AVP holds the request's AVP of that code
/// (searched at any depth), or an empty one. Shared with Gx.
void write_result(msg* ans, std::uint32_t code, std::optional<std::uint32_t> failed, msg* request,
                  dict_object* result_code);

/// A Subscription-Id grouped AVP (type 0xffffffff when it has none).
SubscriptionId read_subscription_id(avp* subscription_id);

/// The request's T flag into `c`.
void read_ccr_flags(msg* request, CcrHeader& c);

/// Reads `a` into `c` when it is one of CcrHeader's AVPs (base protocol,
/// no vendor): true when it was. Shared with Gx.
bool read_ccr_header(avp* a, CcrHeader& c);

/// Answers the request in *pmsg with a bare result code (e.g. 3004 when
/// overloaded) and sends it. Never throws.
void answer_with(msg** pmsg, std::uint32_t result_code, const Dict& d) noexcept;

}  // namespace ocs::gy

// dict_ocs.fdx: the OCS's additions to freeDiameter 1.2.1's dictionary.
//
// Loaded after dict_nasreq, dict_dcca and dict_dcca_3gpp, it
//  1. creates the Gx application (16777238, vendor 10415) under the 3GPP vendor;
//  2. makes sure every Gx AVP the PCRF side reads or writes is defined,
//     creating the ones 1.2.1's dict_dcca_3gpp lacks (and failing start-up if
//     one that exists has an unexpected base type);
//  3. relaxes three rules of the stock dictionary that would make the
//     framework reject valid traffic before any handler runs:
//       CCR  Service-Context-Id  REQUIRED -> OPTIONAL  (a Gx CCR carries none)
//       RAA  Result-Code         REQUIRED -> OPTIONAL  (Experimental-Result only)
//       ASA  Result-Code         REQUIRED -> OPTIONAL  (idem)
// See README.md next to this file. Every change is logged at start-up.
#include <freeDiameter/extension.h>

#include <cerrno>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <string>
#include <vector>

#include "fdx_util.hpp"

namespace {

using ocs::fdx::dict;
using ocs::fdx::fd_check;
using ocs::fdx::FdError;

constexpr vendor_id_t k3gpp = 10415;
constexpr application_id_t kGxAppId = 16777238;

// What kind of value an AVP carries, as freeDiameter models it: a base type
// and, for the derived types of RFC 6733, a named parent type object.
enum class Kind { U32, U64, I32, Enum, Grouped, Octets, Utf8, Time, Address, IpFilterRule };

struct EnumValue {
  const char* name;
  std::int32_t value;
};

struct AvpDef {
  avp_code_t code;
  const char* name;
  Kind kind;
  bool mandatory;  // M bit per TS 29.212 / 29.214 / 29.229 / 29.061
  std::initializer_list<EnumValue> values = {};
};

// The Gx AVPs the PCRF front-end uses (TS 29.212 section 5.3 and the AVPs it
// borrows from 29.214, 29.229, 29.061 and 29.272), all vendor 10415. On
// Debian's 1.2.1 all but the last seven are already provided by
// dict_dcca_3gpp; they are listed so that a wrong load order or a different
// dict_dcca_3gpp is caught at start-up instead of at the first CCR.
const AvpDef kGxAvps[] = {
    {1000, "Bearer-Usage", Kind::Enum, true},
    {1001, "Charging-Rule-Install", Kind::Grouped, true},
    {1002, "Charging-Rule-Remove", Kind::Grouped, true},
    {1003, "Charging-Rule-Definition", Kind::Grouped, true},
    {1004, "Charging-Rule-Base-Name", Kind::Utf8, true},
    {1005, "Charging-Rule-Name", Kind::Octets, true},
    {1006, "Event-Trigger", Kind::Enum, true},
    {1007, "Metering-Method", Kind::Enum, true},
    {1008, "Offline", Kind::Enum, true},
    {1009, "Online", Kind::Enum, true},
    {1010, "Precedence", Kind::U32, true},
    {1011, "Reporting-Level", Kind::Enum, true},
    {1016, "QoS-Information", Kind::Grouped, true},
    {1018, "Charging-Rule-Report", Kind::Grouped, true},
    {1019, "PCC-Rule-Status", Kind::Enum, true},
    {1020, "Bearer-Identifier", Kind::Octets, true},
    {1021, "Bearer-Operation", Kind::Enum, true},
    {1022, "Access-Network-Charging-Identifier-Gx", Kind::Grouped, true},
    {1023, "Bearer-Control-Mode", Kind::Enum, true},
    {1024, "Network-Request-Support", Kind::Enum, true},
    {1025, "Guaranteed-Bitrate-DL", Kind::U32, true},
    {1026, "Guaranteed-Bitrate-UL", Kind::U32, true},
    {1027, "IP-CAN-Type", Kind::Enum, true},
    {1028, "QoS-Class-Identifier", Kind::Enum, true},
    {1031, "Rule-Failure-Code", Kind::Enum, true},
    {1032, "RAT-Type", Kind::Enum, false},
    {1033, "Event-Report-Indication", Kind::Grouped, false},
    {1034, "Allocation-Retention-Priority", Kind::Grouped, false},
    {1040, "APN-Aggregate-Max-Bitrate-DL", Kind::U32, false},
    {1041, "APN-Aggregate-Max-Bitrate-UL", Kind::U32, false},
    {1042, "Revalidation-Time", Kind::Time, true},
    {1043, "Rule-Activation-Time", Kind::Time, true},
    {1044, "Rule-Deactivation-Time", Kind::Time, true},
    {1045, "Session-Release-Cause", Kind::Enum, true},
    {1046, "Priority-Level", Kind::U32, false},
    {1047, "Pre-emption-Capability", Kind::Enum, false},
    {1048, "Pre-emption-Vulnerability", Kind::Enum, false},
    {1049, "Default-EPS-Bearer-QoS", Kind::Grouped, false},
    {1050, "AN-GW-Address", Kind::Address, false},
    {1058, "Flow-Information", Kind::Grouped, false},
    {1060, "Packet-Filter-Identifier", Kind::Octets, false},
    {1063, "Resource-Allocation-Notification", Kind::Enum, false},
    {1065, "PDN-Connection-ID", Kind::Octets, false},
    {1066, "Monitoring-Key", Kind::Octets, false},
    {1067, "Usage-Monitoring-Information", Kind::Grouped, false},
    {1068, "Usage-Monitoring-Level", Kind::Enum, false},
    {1069, "Usage-Monitoring-Report", Kind::Enum, false},
    {1070, "Usage-Monitoring-Support", Kind::Enum, false},
    {1072, "Packet-Filter-Usage", Kind::Enum, false},
    {1073, "Charging-Correlation-Indicator", Kind::Enum, false},
    {1080, "Flow-Direction", Kind::Enum, false},
    {1085, "Redirect-Information", Kind::Grouped, false},
    {1086, "Redirect-Support", Kind::Enum, false},
    {501, "Access-Network-Charging-Address", Kind::Address, true},
    {503, "Access-Network-Charging-Identifier-Value", Kind::Octets, true},
    {505, "AF-Charging-Identifier", Kind::Octets, true},
    {507, "Flow-Description", Kind::IpFilterRule, true},
    {509, "Flow-Number", Kind::U32, true},
    {510, "Flows", Kind::Grouped, true},
    {511, "Flow-Status", Kind::Enum, true},
    {515, "Max-Requested-Bandwidth-DL", Kind::U32, true},
    {516, "Max-Requested-Bandwidth-UL", Kind::U32, true},
    {518, "Media-Component-Number", Kind::U32, true},
    {628, "Supported-Features", Kind::Grouped, false},
    {629, "Feature-List-ID", Kind::U32, false},
    {630, "Feature-List", Kind::U32, false},
    {12, "3GPP-Selection-Mode", Kind::Utf8, true},
    {13, "3GPP-Charging-Characteristics", Kind::Utf8, true},
    {18, "3GPP-SGSN-MCC-MNC", Kind::Utf8, true},
    {22, "3GPP-User-Location-Info", Kind::Octets, true},
    {23, "3GPP-MS-TimeZone", Kind::Octets, true},
    // Missing from 1.2.1's dict_dcca_3gpp. Bit rates above 4.29 Gbit/s
    // (TS 29.214 5.3.134/135, TS 29.272 7.3.180-183) and AN-Trusted, which a
    // PGW sends in the Gx CCR for untrusted non-3GPP access (TS 29.273 5.2.3.9).
    {554, "Extended-Max-Requested-BW-DL", Kind::U32, false},
    {555, "Extended-Max-Requested-BW-UL", Kind::U32, false},
    {2848, "Extended-APN-AMBR-DL", Kind::U32, false},
    {2849, "Extended-APN-AMBR-UL", Kind::U32, false},
    {2850, "Extended-GBR-DL", Kind::U32, false},
    {2851, "Extended-GBR-UL", Kind::U32, false},
    {1503, "AN-Trusted", Kind::Enum, false, {{"TRUSTED", 0}, {"UNTRUSTED", 1}}},
};

dict_avp_basetype base_type(Kind k) {
  switch (k) {
    case Kind::U32: return AVP_TYPE_UNSIGNED32;
    case Kind::U64: return AVP_TYPE_UNSIGNED64;
    case Kind::I32:
    case Kind::Enum: return AVP_TYPE_INTEGER32;
    case Kind::Grouped: return AVP_TYPE_GROUPED;
    case Kind::Octets:
    case Kind::Utf8:
    case Kind::Time:
    case Kind::Address:
    case Kind::IpFilterRule: return AVP_TYPE_OCTETSTRING;
  }
  return AVP_TYPE_OCTETSTRING;
}

dict_object* find_type(const char* name) {
  dict_object* t = nullptr;
  fd_check(fd_dict_search(dict(), DICT_TYPE, TYPE_BY_NAME, name, &t, ENOENT),
           std::string("dictionary: type ") + name);
  return t;
}

// The parent type object of a new AVP (nullptr for the plain base types).
dict_object* type_for(const AvpDef& d) {
  switch (d.kind) {
    case Kind::Utf8: return find_type("UTF8String");
    case Kind::Time: return find_type("Time");
    case Kind::Address: return find_type("Address");
    case Kind::IpFilterRule: return find_type("IPFilterRule");
    case Kind::Enum: {
      std::string tname = std::string("3GPP/Enumerated(") + d.name + ")";
      dict_type_data td{};
      td.type_base = AVP_TYPE_INTEGER32;
      td.type_name = tname.data();  // copied by fd_dict_new
      dict_object* t = nullptr;
      fd_check(fd_dict_new(dict(), DICT_TYPE, &td, nullptr, &t), "dictionary: new type " + tname);
      for (const EnumValue& ev : d.values) {
        dict_enumval_data ed{};
        ed.enum_name = const_cast<char*>(ev.name);
        ed.enum_value.i32 = ev.value;
        fd_check(fd_dict_new(dict(), DICT_ENUMVAL, &ed, t, nullptr),
                 std::string("dictionary: enum value ") + ev.name + " of " + d.name);
      }
      return t;
    }
    default: return nullptr;
  }
}

// Returns true when the AVP was created, false when it already existed.
bool ensure_avp(const AvpDef& d) {
  if (dict_object* existing = ocs::fdx::try_find_avp(d.code, k3gpp)) {
    dict_avp_data have{};
    fd_check(fd_dict_getval(existing, &have), "fd_dict_getval");
    if (have.avp_basetype != base_type(d.kind))
      throw FdError(std::string("AVP ") + d.name + " (" + std::to_string(d.code) +
                        ") exists with an unexpected base type; check the load order of the dict_* extensions",
                    EINVAL);
    return false;
  }
  dict_avp_data data{};
  data.avp_code = d.code;
  data.avp_vendor = k3gpp;
  data.avp_name = const_cast<char*>(d.name);
  data.avp_flag_mask = AVP_FLAG_VENDOR | AVP_FLAG_MANDATORY;
  data.avp_flag_val = static_cast<std::uint8_t>(AVP_FLAG_VENDOR | (d.mandatory ? AVP_FLAG_MANDATORY : 0));
  data.avp_basetype = base_type(d.kind);
  dict_object* type = type_for(d);
  fd_check(fd_dict_new(dict(), DICT_AVP, &data, type, nullptr),
           std::string("dictionary: new AVP ") + d.name);
  ocs::fdx::log_notice(std::string("dict_ocs: created AVP ") + d.name + " (" + std::to_string(d.code) +
                       ", vendor 10415)");
  return true;
}

void ensure_gx_application(dict_object* vendor_3gpp) {
  dict_object* app = nullptr;
  application_id_t id = kGxAppId;
  fd_check(fd_dict_search(dict(), DICT_APPLICATION, APPLICATION_BY_ID, &id, &app, 0), "dictionary: Gx lookup");
  if (app) {
    ocs::fdx::log_notice("dict_ocs: Gx application already defined");
    return;
  }
  dict_application_data data{};
  data.application_id = kGxAppId;
  data.application_name = const_cast<char*>("Gx");
  fd_check(fd_dict_new(dict(), DICT_APPLICATION, &data, vendor_3gpp, nullptr), "dictionary: new application Gx");
  ocs::fdx::log_notice("dict_ocs: created application Gx (16777238, vendor 10415)");
}

// Turns the rule for `avp` in command `cmd` into an optional one with the
// same maximum count. freeDiameter has no way to edit a rule in place.
void make_optional(dict_object* cmd, dict_object* avp, const char* what) {
  dict_rule_request req{};
  req.rule_parent = cmd;
  req.rule_avp = avp;
  dict_object* rule = nullptr;
  fd_check(fd_dict_search(dict(), DICT_RULE, RULE_BY_AVP_AND_PARENT, &req, &rule, 0),
           std::string("dictionary: rule lookup ") + what);
  dict_rule_data data{};
  if (rule) {
    fd_check(fd_dict_getval(rule, &data), "fd_dict_getval");
    if (data.rule_position == RULE_OPTIONAL) {
      ocs::fdx::log_notice(std::string("dict_ocs: ") + what + " already optional");
      return;
    }
    fd_check(fd_dict_delete(rule), std::string("dictionary: delete rule ") + what);
  } else {
    data.rule_max = 1;
  }
  dict_rule_data relaxed{};
  relaxed.rule_avp = avp;
  relaxed.rule_position = RULE_OPTIONAL;
  relaxed.rule_order = 0;
  relaxed.rule_min = -1;  // the default, i.e. 0 for an optional rule
  relaxed.rule_max = data.rule_max;
  fd_check(fd_dict_new(dict(), DICT_RULE, &relaxed, cmd, nullptr), std::string("dictionary: new rule ") + what);
  ocs::fdx::log_notice(std::string("dict_ocs: relaxed ") + what + " to optional");
}

int dict_ocs_init(char* conffile) noexcept {
  try {
    if (conffile && *conffile)
      ocs::fdx::log_notice(std::string("dict_ocs: ignoring configuration file ") + conffile);

    dict_object* vendor_3gpp = ocs::fdx::find_vendor(k3gpp);  // from dict_dcca_3gpp
    ensure_gx_application(vendor_3gpp);

    int created = 0;
    for (const AvpDef& d : kGxAvps) created += ensure_avp(d) ? 1 : 0;

    dict_object* result_code = ocs::fdx::find_avp(268);
    make_optional(ocs::fdx::find_command(272, true), ocs::fdx::find_avp(461), "CCR Service-Context-Id");
    make_optional(ocs::fdx::find_command(258, false), result_code, "RAA Result-Code");
    make_optional(ocs::fdx::find_command(274, false), result_code, "ASA Result-Code");

    ocs::fdx::log_notice("dict_ocs: ready (" + std::to_string(created) + " AVPs created, " +
                         std::to_string(std::size(kGxAvps) - static_cast<std::size_t>(created)) +
                         " Gx AVPs already present)");
    return 0;
  } catch (const FdError& e) {
    ocs::fdx::log_error(std::string("dict_ocs: ") + e.what());
    return e.code() ? e.code() : EINVAL;
  } catch (const std::exception& e) {
    ocs::fdx::log_error(std::string("dict_ocs: ") + e.what());
    return EINVAL;
  } catch (...) {
    return EINVAL;
  }
}

}  // namespace

// The entry points freeDiameterd looks up with dlsym (what EXTENSION_ENTRY
// would generate, written out to give them C linkage from C++).
extern "C" {
OCS_FDX_EXPORT const char* fd_ext_depends[] = {"dict_ocs", "dict_dcca_3gpp", nullptr};

OCS_FDX_EXPORT int fd_ext_init(int major, int minor, char* conffile) {
  if (!ocs::fdx::version_matches("dict_ocs", major, minor)) return EINVAL;
  return dict_ocs_init(conffile);
}
}

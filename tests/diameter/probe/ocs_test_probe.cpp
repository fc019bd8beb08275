// ocs_test_probe.fdx: a test-only extension that exercises the helpers in
// src/diameter/fdx_util.hpp inside the real daemon. It answers Gy CCRs:
//  * Session-Id ending in ";throw-before": throws before building an answer;
//  * ";throw-after": throws after the answer is half built;
//  (guard_request must turn both into a 5012 answer)
//  * otherwise: 2001 with one Multiple-Services-Credit-Control per request
//    MSCC, echoing its Rating-Group and granting CC-Total-Octets = the
//    reported CC-Input-Octets + 1, and Error-Message = "peer=<last hop>;
//    imsi=<Subscription-Id-Data of type 1>".
#include <freeDiameter/extension.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fdx_util.hpp"

namespace {

namespace fdx = ocs::fdx;

struct Dict {
  dict_object* ccr = nullptr;
  dict_object* auth_application_id = nullptr;
  dict_object* cc_request_type = nullptr;
  dict_object* cc_request_number = nullptr;
  dict_object* mscc = nullptr;
  dict_object* rating_group = nullptr;
  dict_object* gsu = nullptr;
  dict_object* cc_total_octets = nullptr;
  dict_object* error_message = nullptr;
  dict_object* subscription_id = nullptr;
};

Dict g_dict;
disp_hdl* g_handle = nullptr;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void answer(msg** pmsg) {
  const Dict& d = g_dict;
  msg* req = *pmsg;
  avp* sid_avp = fdx::first_child(req, 263);
  const std::string sid(fdx::str_of(sid_avp).value_or(""));
  if (ends_with(sid, ";throw-before")) throw std::runtime_error("probe: thrown before answering");

  std::string imsi;
  fdx::for_each_child(req, [&](avp* a) {
    const avp_hdr* h = fdx::header(a);
    if (h->avp_code != 443) return;
    if (fdx::u32_of(fdx::first_child(a, 450)) == 1u)
      imsi = std::string(fdx::str_of(fdx::first_child(a, 444)).value_or(""));
  });
  const std::string peer = fdx::source_peer(req);
  const auto type = fdx::i32_of(fdx::first_child(req, 416));
  const auto number = fdx::u32_of(fdx::first_child(req, 415));

  fdx::make_answer(pmsg);
  msg* ans = *pmsg;
  fdx::set_result(ans, "DIAMETER_SUCCESS");
  fdx::add_u32(ans, d.auth_application_id, 4);
  if (type) fdx::add_i32(ans, d.cc_request_type, *type);
  if (number) fdx::add_u32(ans, d.cc_request_number, *number);
  if (ends_with(sid, ";throw-after")) throw std::runtime_error("probe: thrown with a half-built answer");

  msg* query = nullptr;
  fdx::fd_check(fd_msg_answ_getq(ans, &query), "fd_msg_answ_getq");
  fdx::for_each_child(query, [&](avp* a) {
    const avp_hdr* h = fdx::header(a);
    if (h->avp_code != 456 || (h->avp_flags & AVP_FLAG_VENDOR)) return;
    avp* out = fdx::add_grouped(ans, d.mscc);
    if (auto rg = fdx::u32_of(fdx::first_child(a, 432))) fdx::add_u32(out, d.rating_group, *rg);
    const std::uint64_t input = fdx::u64_of(fdx::first_child(fdx::first_child(a, 446), 412)).value_or(0);
    avp* gsu = fdx::add_grouped(out, d.gsu);
    fdx::add_u64(gsu, d.cc_total_octets, input + 1);
  });
  fdx::add_str(ans, d.error_message, "peer=" + peer + ";imsi=" + imsi);
  fdx::send(pmsg);
}

int on_ccr(msg** pmsg, avp*, session*, void*, disp_action*) noexcept {
  return fdx::guard_request(pmsg, "probe ccr", [&] { answer(pmsg); });
}

int probe_init() noexcept {
  try {
    g_dict.ccr = fdx::find_command(272, true);
    g_dict.auth_application_id = fdx::find_avp(258);
    g_dict.cc_request_type = fdx::find_avp(416);
    g_dict.cc_request_number = fdx::find_avp(415);
    g_dict.mscc = fdx::find_avp(456);
    g_dict.rating_group = fdx::find_avp(432);
    g_dict.gsu = fdx::find_avp(431);
    g_dict.cc_total_octets = fdx::find_avp(421);
    g_dict.error_message = fdx::find_avp(281);
    g_dict.subscription_id = fdx::find_avp(443);
    dict_object* gy = fdx::find_application(4);
    disp_when when{};
    when.app = gy;
    when.command = g_dict.ccr;
    fdx::fd_check(fd_disp_register(on_ccr, DISP_HOW_CC, &when, nullptr, &g_handle), "fd_disp_register");
    fdx::fd_check(fd_disp_app_support(gy, nullptr, 1, 0), "fd_disp_app_support");
    return 0;
  } catch (const fdx::FdError& e) {
    fdx::log_error(std::string("ocs_test_probe: ") + e.what());
    return e.code() ? e.code() : EINVAL;
  } catch (...) {
    return EINVAL;
  }
}

}  // namespace

extern "C" {
OCS_FDX_EXPORT const char* fd_ext_depends[] = {"ocs_test_probe", "dict_ocs", nullptr};
OCS_FDX_EXPORT int fd_ext_init(int major, int minor, char*) {
  if (major != FD_PROJECT_VERSION_MAJOR || minor != FD_PROJECT_VERSION_MINOR) return EINVAL;
  return probe_init();
}
OCS_FDX_EXPORT void fd_ext_fini(void) {
  if (g_handle) (void)fd_disp_unregister(&g_handle, nullptr);
}
}

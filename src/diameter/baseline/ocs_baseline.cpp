// ocs_baseline.fdx: the framework ceiling for the benchmark.
//
// Answers every Credit-Control-Request at once with DIAMETER_SUCCESS and the
// mandatory CCA AVPs (Session-Id, Result-Code, Origin-Host, Origin-Realm,
// Auth-Application-Id, CC-Request-Type and CC-Request-Number echoed). No
// charging, no database: what remains is freeDiameter's own cost (parsing,
// rule checks, routing, dispatch threads), the upper bound any real handler
// can reach on the same machine.
//
// It serves both Gy (Auth-Application-Id 4) and Gx (vendor 10415, 16777238),
// which lets the tests prove that dict_ocs' relaxed CCR rule lets a Gx CCR
// (no Service-Context-Id) reach a handler. Needs dict_ocs.fdx loaded first.
#include <freeDiameter/extension.h>

#include <cerrno>
#include <exception>
#include <string>

#include "fdx_util.hpp"

namespace {

namespace fdx = ocs::fdx;

constexpr application_id_t kGyAppId = 4;
constexpr application_id_t kGxAppId = 16777238;
constexpr vendor_id_t k3gpp = 10415;

// Dictionary objects resolved once at start-up; read-only afterwards, so the
// callbacks can run on all AppServThreads at once without locking.
struct Dict {
  dict_object* ccr = nullptr;
  dict_object* auth_application_id = nullptr;
  dict_object* cc_request_type = nullptr;
  dict_object* cc_request_number = nullptr;
};

// One per application: the opaque pointer handed to its callback.
struct App {
  const Dict* dict;
  application_id_t id;
  const char* name;
};

Dict g_dict;
App g_gy{&g_dict, kGyAppId, "gy"};
App g_gx{&g_dict, kGxAppId, "gx"};
disp_hdl* g_gy_handle = nullptr;
disp_hdl* g_gx_handle = nullptr;

void answer_ccr(msg** pmsg, const App& app) {
  const Dict& d = *app.dict;
  msg* req = *pmsg;

  avp* type_avp = nullptr;
  avp* number_avp = nullptr;
  fdx::fd_check(fd_msg_search_avp(req, d.cc_request_type, &type_avp), "search CC-Request-Type");
  fdx::fd_check(fd_msg_search_avp(req, d.cc_request_number, &number_avp), "search CC-Request-Number");
  // Both are REQUIRED by the CCR rules, so freeDiameter has already answered
  // 5005 when one is missing; stay defensive anyway.
  const auto type = fdx::i32_of(type_avp);
  const auto number = fdx::u32_of(number_avp);

  fdx::make_answer(pmsg);  // *pmsg is now the answer; it owns the request
  msg* ans = *pmsg;
  fdx::set_result(ans, "DIAMETER_SUCCESS");
  fdx::add_u32(ans, d.auth_application_id, app.id);
  if (type) fdx::add_i32(ans, d.cc_request_type, *type);
  if (number) fdx::add_u32(ans, d.cc_request_number, *number);
  fdx::send(pmsg);
}

int on_ccr(msg** pmsg, avp* /*avp*/, session* /*sess*/, void* opaque, disp_action* /*act*/) noexcept {
  const App* app = static_cast<const App*>(opaque);
  return fdx::guard_request(pmsg, app->name, [&] { answer_ccr(pmsg, *app); });
}

void register_app(App& app, dict_object* vendor, disp_hdl** handle) {
  dict_object* application = fdx::find_application(app.id);
  disp_when when{};
  when.app = application;
  when.command = app.dict->ccr;
  fdx::fd_check(fd_disp_register(on_ccr, DISP_HOW_CC, &when, &app, handle), "fd_disp_register");
  // Advertised in CEA: Auth-Application-Id 4, and for Gx a
  // Vendor-Specific-Application-Id {10415, 16777238}.
  fdx::fd_check(fd_disp_app_support(application, vendor, 1, 0), "fd_disp_app_support");
}

int baseline_init(char* /*conffile*/) noexcept {
  try {
    g_dict.ccr = fdx::find_command(272, true);
    g_dict.auth_application_id = fdx::find_avp(258);
    g_dict.cc_request_type = fdx::find_avp(416);
    g_dict.cc_request_number = fdx::find_avp(415);
    register_app(g_gy, nullptr, &g_gy_handle);
    register_app(g_gx, fdx::find_vendor(k3gpp), &g_gx_handle);
    fdx::log_notice("ocs_baseline: answering every Gy and Gx CCR with 2001");
    return 0;
  } catch (const fdx::FdError& e) {
    fdx::log_error(std::string("ocs_baseline: ") + e.what() + " (is dict_ocs.fdx loaded before it?)");
    return e.code() ? e.code() : EINVAL;
  } catch (const std::exception& e) {
    fdx::log_error(std::string("ocs_baseline: ") + e.what());
    return EINVAL;
  } catch (...) {
    return EINVAL;
  }
}

}  // namespace

extern "C" {
OCS_FDX_EXPORT const char* fd_ext_depends[] = {"ocs_baseline", "dict_ocs", nullptr};

OCS_FDX_EXPORT int fd_ext_init(int major, int minor, char* conffile) {
  if (!ocs::fdx::version_matches("ocs_baseline", major, minor)) return EINVAL;
  return baseline_init(conffile);
}

OCS_FDX_EXPORT void fd_ext_fini(void) {
  if (g_gy_handle) (void)fd_disp_unregister(&g_gy_handle, nullptr);
  if (g_gx_handle) (void)fd_disp_unregister(&g_gx_handle, nullptr);
}
}

// Small C++ helpers for extensions loaded by freeDiameterd 1.2.1 (Debian 12).
//
// freeDiameter is a C library: every call returns an errno-style int and
// hands out raw pointers whose ownership moves around. These helpers keep
// the extension code short and make the ownership rules explicit:
//
//  * fd_check() turns a non-zero return into an FdError exception. Use it
//    inside C++ code only; a C callback must catch everything (see
//    guard_request() below): an exception crossing into freeDiameter's C
//    frames is undefined behaviour.
//  * MsgPtr owns a message that nobody else owns yet (e.g. a request being
//    built). Release it (.release()) when handing it to fd_msg_send().
//  * Dictionary lookups throw when the object is missing, so an extension
//    resolves everything it needs once at start-up and fails loudly there.
//
// Everything here is header-only so both the dictionary extension and the
// application extensions can use it without another shared object.
#pragma once

#include <freeDiameter/extension.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

/// Marks the extern "C" entry points (fd_ext_init, fd_ext_fini,
/// fd_ext_depends) visible: our modules are built with hidden visibility.
#define OCS_FDX_EXPORT __attribute__((visibility("default")))

namespace ocs::fdx {

/// A freeDiameter call failed; code() is its errno-style return value.
class FdError : public std::runtime_error {
 public:
  FdError(const std::string& what, int code) : std::runtime_error(what), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

/// Throws FdError("<what>: <strerror>") when `rc` is not 0.
inline void fd_check(int rc, std::string_view what) {
  if (rc != 0) throw FdError(std::string(what) + ": " + std::strerror(rc), rc);
}

// ---------------------------------------------------------------- logging --
// fd_log is thread-safe and writes to the daemon's log (stdout by default).
inline void log_error(const std::string& s) noexcept { fd_log(FD_LOG_ERROR, "%s", s.c_str()); }
inline void log_notice(const std::string& s) noexcept { fd_log(FD_LOG_NOTICE, "%s", s.c_str()); }
inline void log_debug(const std::string& s) noexcept { fd_log(FD_LOG_DEBUG, "%s", s.c_str()); }

/// fd_ext_init's first check: the daemon runs the freeDiameter version this
/// module was compiled against. Logs and returns false otherwise.
inline bool version_matches(const char* module, int major, int minor) noexcept {
  if (major == FD_PROJECT_VERSION_MAJOR && minor == FD_PROJECT_VERSION_MINOR) return true;
  fd_log(FD_LOG_ERROR, "%s was built for freeDiameter %d.%d, not %d.%d", module, FD_PROJECT_VERSION_MAJOR,
         FD_PROJECT_VERSION_MINOR, major, minor);
  return false;
}

// ---------------------------------------------------------------- messages --
struct MsgDeleter {
  void operator()(msg* m) const noexcept { (void)fd_msg_free(m); }
};
/// Owns a message (or, through fd_msg_free's semantics, an answer together
/// with the request it was created from).
using MsgPtr = std::unique_ptr<msg, MsgDeleter>;

inline msg_hdr* header(msg* m) {
  msg_hdr* h = nullptr;
  fd_check(fd_msg_hdr(m, &h), "fd_msg_hdr");
  return h;
}

inline bool is_request(msg* m) { return (header(m)->msg_flags & CMD_FLAG_REQUEST) != 0; }

inline avp_hdr* header(avp* a) {
  avp_hdr* h = nullptr;
  fd_check(fd_msg_avp_hdr(a, &h), "fd_msg_avp_hdr");
  return h;
}

// -------------------------------------------------------------- dictionary --
inline dictionary* dict() { return fd_g_config->cnf_dict; }

inline dict_object* find_vendor(vendor_id_t id) {
  dict_object* o = nullptr;
  fd_check(fd_dict_search(dict(), DICT_VENDOR, VENDOR_BY_ID, &id, &o, ENOENT),
           "dictionary: vendor " + std::to_string(id));
  return o;
}

inline dict_object* find_application(application_id_t id) {
  dict_object* o = nullptr;
  fd_check(fd_dict_search(dict(), DICT_APPLICATION, APPLICATION_BY_ID, &id, &o, ENOENT),
           "dictionary: application " + std::to_string(id));
  return o;
}

/// The request (is_request) or answer object of a command code.
inline dict_object* find_command(command_code_t code, bool request) {
  dict_object* o = nullptr;
  fd_check(fd_dict_search(dict(), DICT_COMMAND, request ? CMD_BY_CODE_R : CMD_BY_CODE_A, &code, &o, ENOENT),
           "dictionary: command " + std::to_string(code) + (request ? " request" : " answer"));
  return o;
}

/// AVP by code and vendor. Note that freeDiameter's AVP_BY_NAME and
/// AVP_BY_CODE only look at vendor 0: 3GPP AVPs need the vendor.
inline dict_object* find_avp(avp_code_t code, vendor_id_t vendor = 0) {
  dict_avp_request req{};
  req.avp_vendor = vendor;
  req.avp_code = code;
  dict_object* o = nullptr;
  fd_check(fd_dict_search(dict(), DICT_AVP, AVP_BY_CODE_AND_VENDOR, &req, &o, ENOENT),
           "dictionary: AVP " + std::to_string(code) + " vendor " + std::to_string(vendor));
  return o;
}

/// Same, returning nullptr when the AVP is not defined.
inline dict_object* try_find_avp(avp_code_t code, vendor_id_t vendor = 0) {
  dict_avp_request req{};
  req.avp_vendor = vendor;
  req.avp_code = code;
  dict_object* o = nullptr;
  if (fd_dict_search(dict(), DICT_AVP, AVP_BY_CODE_AND_VENDOR, &req, &o, 0) != 0) return nullptr;
  return o;
}

// ----------------------------------------------------------- building AVPs --
// `parent` is a msg* or an avp* (grouped); freeDiameter calls it msg_or_avp.

/// Creates an AVP of `model`, lets `set` fill its value and appends it to
/// `parent`. Frees the AVP if anything fails before the parent owns it.
template <typename SetValue>
avp* add_avp(msg_or_avp* parent, dict_object* model, SetValue&& set) {
  avp* a = nullptr;
  fd_check(fd_msg_avp_new(model, 0, &a), "fd_msg_avp_new");
  try {
    set(a);
    fd_check(fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, a), "fd_msg_avp_add");
  } catch (...) {
    (void)fd_msg_free(a);
    throw;
  }
  return a;
}

inline avp* add_u32(msg_or_avp* parent, dict_object* model, std::uint32_t v) {
  return add_avp(parent, model, [v](avp* a) {
    avp_value val{};
    val.u32 = v;
    fd_check(fd_msg_avp_setvalue(a, &val), "fd_msg_avp_setvalue");
  });
}

/// For Integer32 and Enumerated AVPs.
inline avp* add_i32(msg_or_avp* parent, dict_object* model, std::int32_t v) {
  return add_avp(parent, model, [v](avp* a) {
    avp_value val{};
    val.i32 = v;
    fd_check(fd_msg_avp_setvalue(a, &val), "fd_msg_avp_setvalue");
  });
}

inline avp* add_u64(msg_or_avp* parent, dict_object* model, std::uint64_t v) {
  return add_avp(parent, model, [v](avp* a) {
    avp_value val{};
    val.u64 = v;
    fd_check(fd_msg_avp_setvalue(a, &val), "fd_msg_avp_setvalue");
  });
}

inline avp* add_i64(msg_or_avp* parent, dict_object* model, std::int64_t v) {
  return add_avp(parent, model, [v](avp* a) {
    avp_value val{};
    val.i64 = v;
    fd_check(fd_msg_avp_setvalue(a, &val), "fd_msg_avp_setvalue");
  });
}

/// OctetString / UTF8String / DiameterIdentity (freeDiameter copies the bytes).
inline avp* add_str(msg_or_avp* parent, dict_object* model, std::string_view s) {
  return add_avp(parent, model, [s](avp* a) {
    avp_value val{};
    // fd_msg_avp_setvalue copies os.data; it never writes through the pointer.
    val.os.data = reinterpret_cast<std::uint8_t*>(const_cast<char*>(s.data()));
    val.os.len = s.size();
    fd_check(fd_msg_avp_setvalue(a, &val), "fd_msg_avp_setvalue");
  });
}

/// Time (RFC 6733 4.3.1): NTP seconds, four octets in network order.
inline avp* add_time(msg_or_avp* parent, dict_object* model, std::uint32_t ntp) {
  const std::uint8_t bytes[4] = {static_cast<std::uint8_t>(ntp >> 24), static_cast<std::uint8_t>(ntp >> 16),
                                 static_cast<std::uint8_t>(ntp >> 8), static_cast<std::uint8_t>(ntp)};
  return add_str(parent, model, std::string_view(reinterpret_cast<const char*>(bytes), 4));
}

/// Session-Id as the first AVP of a new request (RFC 6733 8.8).
inline avp* add_session_id(msg* m, dict_object* model, std::string_view id) {
  avp* a = nullptr;
  fd_check(fd_msg_avp_new(model, 0, &a), "fd_msg_avp_new");
  avp_value v{};
  v.os.data = reinterpret_cast<std::uint8_t*>(const_cast<char*>(id.data()));
  v.os.len = id.size();
  if (int rc = fd_msg_avp_setvalue(a, &v); rc != 0) {
    (void)fd_msg_free(a);
    fd_check(rc, "fd_msg_avp_setvalue");
  }
  if (int rc = fd_msg_avp_add(m, MSG_BRW_FIRST_CHILD, a); rc != 0) {
    (void)fd_msg_free(a);
    fd_check(rc, "fd_msg_avp_add");
  }
  return a;
}

/// An empty grouped AVP appended to `parent`; add its children afterwards.
inline avp* add_grouped(msg_or_avp* parent, dict_object* model) {
  return add_avp(parent, model, [](avp*) {});
}

// ------------------------------------------------------------ reading AVPs --
// In a dispatch callback the message has already been parsed against the
// dictionary, so known AVPs (grouped ones included) carry their values.
// fd_msg_search_avp in 1.2.1 only searches the top level: use first_child()
// to look inside grouped AVPs.

/// fd_msg_browse for C++ (the C macro relies on void* converting to void**):
/// the first child (MSG_BRW_FIRST_CHILD) or next sibling (MSG_BRW_NEXT) of
/// `from`, or nullptr.
inline avp* browse(msg_or_avp* from, msg_brw_dir dir) {
  msg_or_avp* found = nullptr;
  fd_check(fd_msg_browse_internal(from, dir, &found, nullptr), "fd_msg_browse");
  return static_cast<avp*>(found);
}

/// First direct child of `parent` with this code and vendor, or nullptr.
/// A null `parent` gives nullptr, so lookups chain:
/// first_child(first_child(mscc, 446), 412) is CC-Input-Octets in USU or null.
inline avp* first_child(msg_or_avp* parent, avp_code_t code, vendor_id_t vendor = 0) {
  if (!parent) return nullptr;
  for (avp* a = browse(parent, MSG_BRW_FIRST_CHILD); a; a = browse(a, MSG_BRW_NEXT)) {
    const avp_hdr* h = header(a);
    const vendor_id_t v = (h->avp_flags & AVP_FLAG_VENDOR) ? h->avp_vendor : 0;
    if (h->avp_code == code && v == vendor) return a;
  }
  return nullptr;
}

/// Calls fn(avp*) for each direct child of `parent` (fn may not remove it);
/// nothing for a null `parent`.
template <typename Fn>
void for_each_child(msg_or_avp* parent, Fn&& fn) {
  if (!parent) return;
  for (avp* a = browse(parent, MSG_BRW_FIRST_CHILD); a; a = browse(a, MSG_BRW_NEXT)) fn(a);
}

/// Value of a parsed scalar AVP (nullptr for grouped or unknown AVPs).
inline const avp_value* value_of(avp* a) { return a ? header(a)->avp_value : nullptr; }

inline std::optional<std::uint32_t> u32_of(avp* a) {
  if (const avp_value* v = value_of(a)) return v->u32;
  return std::nullopt;
}

inline std::optional<std::int32_t> i32_of(avp* a) {
  if (const avp_value* v = value_of(a)) return v->i32;
  return std::nullopt;
}

inline std::optional<std::uint64_t> u64_of(avp* a) {
  if (const avp_value* v = value_of(a)) return v->u64;
  return std::nullopt;
}

/// Bytes of an OctetString-based AVP; valid while the message lives.
inline std::optional<std::string_view> str_of(avp* a) {
  if (const avp_value* v = value_of(a))
    return std::string_view(reinterpret_cast<const char*>(v->os.data), v->os.len);
  return std::nullopt;
}

/// An Enumerated AVP's value (Integer32 on the wire) as the unsigned code
/// the models use.
inline std::optional<std::uint32_t> enum_of(avp* a) {
  if (auto v = i32_of(a)) return static_cast<std::uint32_t>(*v);
  return std::nullopt;
}

/// A UTF8String/DiameterIdentity AVP as an owned string ("" when absent).
inline std::string string_of(avp* a) {
  auto s = str_of(a);
  return s ? std::string(*s) : std::string();
}

/// The AVP's vendor: 0 unless the V flag is set.
inline vendor_id_t vendor_of(const avp_hdr* h) { return (h->avp_flags & AVP_FLAG_VENDOR) ? h->avp_vendor : 0; }

/// DiameterIdentity of the peer the message was received from (the last
/// hop, not necessarily the Origin-Host when relays are involved).
inline std::string source_peer(msg* m) {
  DiamId_t id = nullptr;
  std::size_t len = 0;
  fd_check(fd_msg_source_get(m, &id, &len), "fd_msg_source_get");
  return id ? std::string(id, len) : std::string();
}

// --------------------------------------------------------------- answering --

/// Adds Result-Code (by its dictionary name, e.g. "DIAMETER_SUCCESS", or for
/// the DCCA codes of 1.2.1 without prefix: "CREDIT_LIMIT_REACHED") plus
/// Origin-Host/Origin-Realm. `failed` (optional) is copied into Failed-AVP.
inline void set_result(msg* answer, const char* rescode, const char* error_message = nullptr,
                       avp* failed = nullptr) {
  fd_check(fd_msg_rescode_set(answer, const_cast<char*>(rescode), const_cast<char*>(error_message), failed, 1),
           std::string("fd_msg_rescode_set ") + rescode);
}

/// Turns the request in *pmsg into an answer (Session-Id copied) in place.
inline void make_answer(msg** pmsg) {
  fd_check(fd_msg_new_answer_from_req(dict(), pmsg, 0), "fd_msg_new_answer_from_req");
}

/// Queues a message for sending; freeDiameter owns it afterwards (also on
/// failure the pointer is consumed or freed here). Thread-safe: it may be
/// called from any thread, not only from the dispatch callback.
inline void send(msg** pmsg) {
  const int rc = fd_msg_send(pmsg, nullptr, nullptr);
  if (rc != 0 && *pmsg) {
    (void)fd_msg_free(*pmsg);
    *pmsg = nullptr;
  }
  fd_check(rc, "fd_msg_send");
}

/// Best effort: answers the request behind *pmsg (which may already have
/// been turned into a partly built answer) with a bare error result and
/// sends it. Never throws. Leaves *pmsg == nullptr.
inline void answer_error(msg** pmsg, const char* rescode = "DIAMETER_UNABLE_TO_COMPLY") noexcept {
  if (!pmsg || !*pmsg) return;
  try {
    if (!is_request(*pmsg)) {
      // A half-built answer: recover its request and start again.
      msg* query = nullptr;
      fd_check(fd_msg_answ_getq(*pmsg, &query), "fd_msg_answ_getq");
      if (!query) throw FdError("answer without its request", EINVAL);
      fd_check(fd_msg_answ_detach(*pmsg), "fd_msg_answ_detach");
      (void)fd_msg_free(*pmsg);
      *pmsg = query;
    }
    make_answer(pmsg);
    set_result(*pmsg, rescode);
    send(pmsg);
  } catch (const std::exception& e) {
    log_error(std::string("ocs: cannot send error answer: ") + e.what());
  } catch (...) {
    log_error("ocs: cannot send error answer");
  }
  if (*pmsg) {
    (void)fd_msg_free(*pmsg);
    *pmsg = nullptr;
  }
}

/// Runs a dispatch-callback body so that no exception reaches freeDiameter.
/// On an exception it logs, answers DIAMETER_UNABLE_TO_COMPLY (5012) and
/// returns 0: a non-zero return would make freeDiameter drop the request
/// without any answer. Use it as the whole body of the C callback:
///
///   int on_ccr(msg** m, avp*, session*, void* data, disp_action* act) {
///     return ocs::fdx::guard_request(m, "gy ccr", [&] { ...; });
///   }
template <typename Body>
int guard_request(msg** pmsg, const char* where, Body&& body) noexcept {
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    log_error(std::string("ocs: ") + where + ": " + e.what());
  } catch (...) {
    log_error(std::string("ocs: ") + where + ": unknown exception");
  }
  answer_error(pmsg);
  return 0;
}

}  // namespace ocs::fdx

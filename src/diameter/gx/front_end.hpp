// Gx in ocs.fdx, assembled: dictionary, policy store, worker queue, CCR
// handler registration, application advertised in CEA, RAR on changes, the
// audit of silent sessions.
// ocs_extension.cpp creates one after Gy (sharing the pool, the session
// store and the Reauthorizer's LISTEN thread) and destroys it before Gy.
#pragma once

#include <memory>

#include <spdlog/spdlog.h>

#include "../gy/reauth.hpp"
#include "../server_request.hpp"
#include "ocs/common/work_queue.hpp"
#include "handler.hpp"
#include "ocs/config/config.hpp"
#include "ocs/store/pg_policy.hpp"
#include "policy_push.hpp"
#include "session_audit.hpp"
#include "wire.hpp"

namespace ocs::gx {

class FrontEnd {
 public:
  /// Registers the CCR handler and advertises Gx; the pusher and the
  /// auditor join `reauth` (call before reauth.start()). Throws on failure.
  FrontEnd(const config::Config& config, store::ConnectionPool& pool, store::ChargingStore& sessions,
           gy::Reauthorizer& reauth);
  /// Unregisters the handler, finishes running requests, discards the rest.
  ~FrontEnd();
  FrontEnd(const FrontEnd&) = delete;
  FrontEnd& operator=(const FrontEnd&) = delete;

 private:
  static int on_ccr(msg** pmsg, avp* a, session* s, void* opaque, disp_action* act) noexcept;

  std::shared_ptr<spdlog::logger> log_;
  Dict dict_;
  store::PgPolicyStore store_;
  Handler handler_;
  std::unique_ptr<WorkQueue<msg*>> queue_;
  std::unique_ptr<PolicyPusher> pusher_;
  std::unique_ptr<SessionAuditor> auditor_;
  diameter::DestinationHostRouting routing_;
  disp_hdl* ccr_handle_ = nullptr;
};

}  // namespace ocs::gx

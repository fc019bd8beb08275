#include "front_end.hpp"

#include "ocs/common/log.hpp"

namespace ocs::gx {

FrontEnd::FrontEnd(const config::Config& config, store::ConnectionPool& pool, store::ChargingStore& sessions,
                   gy::Reauthorizer& reauth)
    : log_(log::get("gx")), dict_(Dict::resolve()), store_(pool), handler_(dict_, store_, log_) {
  queue_ = std::make_unique<WorkQueue<msg*>>(
      config.gx.workers, config.gx.queue_limit, [this](msg*& m) { handler_.handle(&m); },
      [this](msg*& m) { answer_with(&m, gy::kTooBusy, dict_); });
  if (config.gx.reauth_on_change) {
    pusher_ = std::make_unique<PolicyPusher>(dict_, store_, sessions, reauth.unknown_sessions(),
                                             config.gy.peer_answer_timeout_ms, log_);
    reauth.add_sink(*pusher_);
  }
  if (config.gx.audit_after_seconds > 0) {
    auditor_ = std::make_unique<SessionAuditor>(dict_, store_, sessions, reauth.unknown_sessions(),
                                                std::chrono::seconds(config.gx.audit_after_seconds),
                                                config.gy.peer_answer_timeout_ms, log_);
    reauth.add_sink(*auditor_);
  }
  if (!config.gy.server_requests_via_relay) routing_.register_for(kAppId);
  disp_when when{};
  when.app = dict_.app;
  when.command = dict_.ccr;
  fdx::fd_check(fd_disp_register(on_ccr, DISP_HOW_CC, &when, this, &ccr_handle_), "fd_disp_register Gx");
  // Vendor-Specific-Application-Id {10415, 16777238} in CEA.
  fdx::fd_check(fd_disp_app_support(dict_.app, dict_.vendor_3gpp, 1, 0), "fd_disp_app_support Gx");
  log_->info("ocs.fdx: Gx (application 16777238) ready, {} workers", config.gx.workers);
}

FrontEnd::~FrontEnd() {
  if (ccr_handle_) (void)fd_disp_unregister(&ccr_handle_, nullptr);
  if (queue_) queue_->stop();
}

int FrontEnd::on_ccr(msg** pmsg, avp* /*a*/, session* /*s*/, void* opaque, disp_action* /*act*/) noexcept {
  auto* self = static_cast<FrontEnd*>(opaque);
  return fdx::guard_request(pmsg, "gx ccr", [&] {
    msg* request = *pmsg;
    *pmsg = nullptr;  // ours now: a worker answers it
    if (!self->queue_->try_push(request)) {
      self->log_->warn("gx: {} requests waiting; answering 3004 TOO_BUSY", self->queue_->depth());
      answer_with(&request, gy::kTooBusy, self->dict_);
    }
  });
}

}  // namespace ocs::gx

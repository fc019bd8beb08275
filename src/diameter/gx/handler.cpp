#include "handler.hpp"

#include <chrono>

#include "../store_answer.hpp"
#include "ocs/common/clock.hpp"

namespace ocs::gx {

Cca Handler::decide(const Ccr& ccr, store::PolicyResult& result) {
  auto mapped = to_policy_request(ccr);
  if (auto* rejection = std::get_if<Rejection>(&mapped)) return rejection->answer;
  try {
    const auto now = seconds_now();
    result = store_.decide(std::get<store::PolicyRequest>(mapped), now);  // committed here
    return to_cca(ccr, result);
  } catch (const store::StoreError& e) {
    log_->error("gx session={} type={} number={}: store: {}", ccr.session_id,
                fdx::request_type_letter(ccr.request_type), ccr.request_number.value_or(0), e.what());
    return fdx::store_error_answer<Cca>(ccr, e);
  }
}

void Handler::handle(msg** pmsg) noexcept {
  const auto started = std::chrono::steady_clock::now();
  Ccr ccr;
  try {
    ccr = read_ccr(*pmsg, dict_);
    store::PolicyResult result;
    const Cca cca = decide(ccr, result);
    build_cca(pmsg, cca, dict_);
    fdx::send(pmsg);
    if (log_->should_log(spdlog::level::info)) {
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      log_->info("gx session={} type={} number={} subscriber={} result={} state={} policy={}{}{} took={:.1f}ms",
                 ccr.session_id, fdx::request_type_letter(ccr.request_type), ccr.request_number.value_or(0),
                 result.subscriber.empty() ? "-" : result.subscriber, cca.result_code,
                 to_string(result.decision.state), result.decision.release ? "-" : result.decision.policy.name,
                 result.changed ? " changed" : "", result.replayed ? " replay" : "", ms);
    }
  } catch (const std::exception& e) {
    log_->error("gx session={}: cannot answer: {}; answering 5012", ccr.session_id, e.what());
    fdx::answer_error(pmsg);
  } catch (...) {
    log_->error("gx session={}: cannot answer; answering 5012", ccr.session_id);
    fdx::answer_error(pmsg);
  }
  if (pmsg && *pmsg) {
    (void)fd_msg_free(*pmsg);
    *pmsg = nullptr;
  }
}

}  // namespace ocs::gx

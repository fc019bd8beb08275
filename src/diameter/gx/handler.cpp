#include "handler.hpp"

#include <chrono>

namespace ocs::gx {

namespace {
const char* type_letter(std::optional<std::uint32_t> t) {
  if (!t) return "?";
  switch (*t) {
    case 1: return "I";
    case 2: return "U";
    case 3: return "T";
    default: return "?";
  }
}

std::uint32_t code_for(const store::StoreError& e) {
  switch (e.kind()) {
    case store::StoreError::Kind::Unavailable: return gy::kTooBusy;
    case store::StoreError::Kind::Invalid: return gy::kInvalidAvpValue;
    default: return gy::kUnableToComply;
  }
}
}  // namespace

Cca Handler::decide(const Ccr& ccr, store::PolicyResult& result) {
  auto mapped = to_policy_request(ccr);
  if (auto* rejection = std::get_if<Rejection>(&mapped)) return rejection->answer;
  try {
    const auto now = std::chrono::time_point_cast<std::chrono::seconds>(Clock::now());
    result = store_.decide(std::get<store::PolicyRequest>(mapped), now);  // committed here
    return to_cca(ccr, result);
  } catch (const store::StoreError& e) {
    log_->error("gx session={} type={} number={}: store: {}", ccr.session_id, type_letter(ccr.request_type),
                ccr.request_number.value_or(0), e.what());
    Cca a;
    a.result_code = code_for(e);
    a.request_type = ccr.request_type.value_or(0);
    a.request_number = ccr.request_number.value_or(0);
    return a;
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
                 ccr.session_id, type_letter(ccr.request_type), ccr.request_number.value_or(0),
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

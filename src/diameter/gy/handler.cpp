#include "handler.hpp"

#include <chrono>

namespace ocs::gy {

namespace {
const char* type_letter(std::optional<std::uint32_t> t) {
  if (!t) return "?";
  switch (*t) {
    case 1: return "I";
    case 2: return "U";
    case 3: return "T";
    case 4: return "E";
    default: return "?";
  }
}

TimePoint now() { return std::chrono::time_point_cast<std::chrono::seconds>(Clock::now()); }

std::uint32_t code_for(const store::StoreError& e) {
  switch (e.kind()) {
    case store::StoreError::Kind::Unavailable: return kTooBusy;  // the client may try another server
    case store::StoreError::Kind::Invalid: return kInvalidAvpValue;
    default: return kUnableToComply;
  }
}
}  // namespace

Cca Handler::decide(const Ccr& ccr, std::string& subscriber, bool& replayed) {
  auto mapped = to_charge_request(ccr, options_);
  if (auto* rejection = std::get_if<Rejection>(&mapped)) return rejection->answer;
  const auto& req = std::get<store::ChargeRequest>(mapped);
  try {
    const store::ChargeResult result = store_.charge(req, now());
    subscriber = result.subscriber;
    replayed = result.replayed;
    return to_cca(ccr, result, options_);
  } catch (const store::StoreError& e) {
    log_->error("gy session={} type={} number={}: store: {}", ccr.session_id, type_letter(ccr.request_type),
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
    std::string subscriber;
    bool replayed = false;
    const Cca cca = decide(ccr, subscriber, replayed);
    build_cca(pmsg, cca, dict_);
    fdx::send(pmsg);
    if (log_->should_log(spdlog::level::info)) {  // no string building on the hot path otherwise
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      std::string rgs;
      for (const auto& m : cca.mscc)
        rgs += (rgs.empty() ? "" : ",") + std::to_string(m.rating_group.value_or(options_.default_rating_group)) +
               ":" + std::to_string(m.result_code);
      log_->info("gy session={} type={} number={} subscriber={} result={} mscc=[{}]{}{} took={:.1f}ms",
                 ccr.session_id, type_letter(ccr.request_type), ccr.request_number.value_or(0),
                 subscriber.empty() ? "-" : subscriber, cca.result_code, rgs, replayed ? " replay" : "",
                 ccr.retransmission ? " T-flag" : "", ms);
    }
  } catch (const std::exception& e) {
    log_->error("gy session={}: cannot answer: {}; answering 5012", ccr.session_id, e.what());
    fdx::answer_error(pmsg);
  } catch (...) {
    log_->error("gy session={}: cannot answer; answering 5012", ccr.session_id);
    fdx::answer_error(pmsg);
  }
  if (pmsg && *pmsg) {
    (void)fd_msg_free(*pmsg);
    *pmsg = nullptr;
  }
}

}  // namespace ocs::gy

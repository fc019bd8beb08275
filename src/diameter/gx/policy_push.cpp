#include "policy_push.hpp"

#include <chrono>

#include "../server_request.hpp"

namespace ocs::gx {

namespace {
TimePoint now() { return std::chrono::time_point_cast<std::chrono::seconds>(Clock::now()); }
}  // namespace

void PolicyPusher::on_event(const store::AccountEvent& e) {
  if (e.event == "resync") {
    // Notifications sent while the LISTEN connection was down are lost.
    const auto subscribers = policies_.subscribers_with_policy_sessions();
    log_->warn("gx account events: reconnected; re-checking {} subscriber(s) with Gx sessions", subscribers.size());
    for (auto id : subscribers) reevaluate_subscriber(id);
    return;
  }
  // credit, status, plan, gy_credit, usage: any of them may move the state.
  reevaluate_subscriber(e.subscriber_id);
}

void PolicyPusher::reevaluate_subscriber(std::int64_t subscriber_id) {
  for (const auto& s : sessions_.open_sessions(subscriber_id, "gx")) {
    try {
      if (auto change = policies_.reevaluate(s.session_id, now())) send_rar(*change);  // after its commit
    } catch (const std::exception& ex) {
      log_->error("gx session={}: cannot re-evaluate: {}", s.session_id, ex.what());
    }
  }
}

void PolicyPusher::send_rar(const store::PolicyChange& change) {
  if (change.origin.origin_host.empty()) return;
  const Rar rar = to_rar(change);
  msg* m = build_rar(change.origin, change.session_id, rar, dict_);
  auto on_answer = [log = log_, sid = change.session_id, unknown = unknown_](std::optional<std::uint32_t> code,
                                                                            bool timed_out) {
    if (timed_out) {
      log->warn("gx RAR session={}: no answer in time (peer gone?)", sid);
    } else if (!code) {
      log->warn("gx RAR session={}: answer without Result-Code", sid);
    } else if (*code == 2001) {
      log->info("gx RAR session={}: accepted", sid);
    } else if (*code == 5002) {
      log->warn("gx RAR session={}: PCEF answered 5002 UNKNOWN_SESSION_ID; closing the session", sid);
      unknown->push(sid);
    } else {
      log->warn("gx RAR session={}: refused with {}", sid, *code);
    }
  };
  if (!diameter::send_request(&m, timeout_ms_, std::move(on_answer))) {
    log_->warn("gx RAR session={}: cannot send", change.session_id);
    return;
  }
  log_->info("gx RAR session={} sent: {} -> {}{}", change.session_id, to_string(change.previous_state),
             to_string(change.decision.state), rar.release_cause ? " (release)" : "");
}

void PolicyPusher::idle() {
  for (const auto& id : unknown_->take()) {
    try {
      if (sessions_.close_session(id, "client: unknown session", now()))
        log_->info("gx session={} closed: its PCEF no longer knows it", id);
    } catch (const std::exception& e) {
      log_->error("gx session={}: cannot close: {}", id, e.what());
    }
  }
}

}  // namespace ocs::gx

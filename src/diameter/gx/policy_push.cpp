#include "policy_push.hpp"

#include <chrono>

#include "../server_request.hpp"
#include "ocs/common/clock.hpp"

namespace ocs::gx {

void PolicyPusher::on_event(const store::AccountEvent& e) {
  if (e.event == "resync") {
    // Notifications sent while the LISTEN connection was down are lost.
    log_->warn("gx account events: reconnected; notifications may have been missed");
    pending_sweep_ = "account events reconnected";
    return;
  }
  if (e.event == "config") {
    // An edit of plans, policies, rules or allowances (any subscriber's).
    // An operator's script sends one per transaction: one sweep, started at
    // idle(), after the events that came with this one.
    if (!pending_sweep_) pending_sweep_ = "configuration changed";
    return;
  }
  // credit, status, plan, gy_credit, usage: any of them may move the state.
  reevaluate_subscriber(e.subscriber_id);
}

std::size_t PolicyPusher::reevaluate_subscriber(std::int64_t subscriber_id) {
  std::size_t sent = 0;
  for (const auto& s : sessions_.open_sessions(subscriber_id, "gx")) {
    try {
      if (auto change = policies_.reevaluate(s.session_id, seconds_now());  // committed before the RAR
          change && send_rar(*change))
        ++sent;
    } catch (const std::exception& ex) {
      log_->error("gx session={}: cannot re-evaluate: {}", s.session_id, ex.what());
    }
  }
  return sent;
}

void PolicyPusher::start_sweep(const char* why) {
  const auto subscribers = policies_.subscribers_with_policy_sessions();
  if (!sweep_.empty())
    log_->info("gx {}: the sweep under way ({}) starts again, {} subscriber(s) were left", why, sweep_why_,
               sweep_.size());
  sweep_.assign(subscribers.begin(), subscribers.end());
  sweep_why_ = why;
  sweep_total_ = subscribers.size();
  sweep_rars_ = 0;
  sweep_started_ = std::chrono::steady_clock::now();
  log_->info("gx {}: re-checking the Gx sessions of {} subscriber(s)", why, sweep_total_);
}

void PolicyPusher::pause_sweep(const std::exception& e) {
  paused_until_ = std::chrono::steady_clock::now() + kSweepRetry;
  log_->warn("gx {}: sweep paused, {} subscriber(s) left, again in {} s: {}", pending_sweep_ ? pending_sweep_ : sweep_why_,
             sweep_.size(), kSweepRetry.count(), e.what());
}

void PolicyPusher::sweep_slice() {
  if (sweep_.empty() || std::chrono::steady_clock::now() < paused_until_) return;
  const auto slice_end = std::chrono::steady_clock::now() + kSweepSlice;
  while (!sweep_.empty() && std::chrono::steady_clock::now() < slice_end) {
    const std::int64_t id = sweep_.front();
    try {
      sweep_rars_ += reevaluate_subscriber(id);
    } catch (const store::StoreError& ex) {
      if (ex.kind() == store::StoreError::Kind::Unavailable) {
        pause_sweep(ex);  // this subscriber first when it resumes
        return;
      }
      log_->error("gx subscriber={}: cannot re-check: {}", id, ex.what());
    } catch (const std::exception& ex) {
      log_->error("gx subscriber={}: cannot re-check: {}", id, ex.what());
    }
    sweep_.pop_front();
  }
  if (!sweep_.empty()) return;
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sweep_started_).count();
  log_->info("gx {}: {} subscriber(s) re-checked, {} RAR(s) sent, took={}ms", sweep_why_, sweep_total_, sweep_rars_,
             ms);
}

bool PolicyPusher::send_rar(const store::PolicyChange& change) {
  if (change.origin.origin_host.empty()) return false;
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
    return false;
  }
  log_->info("gx RAR session={} sent: {} -> {}{}", change.session_id, to_string(change.previous_state),
             to_string(change.decision.state), rar.release_cause ? " (release)" : "");
  return true;
}

void PolicyPusher::idle() {
  if (pending_sweep_ && std::chrono::steady_clock::now() >= paused_until_) {
    try {
      start_sweep(pending_sweep_);
      pending_sweep_ = nullptr;
    } catch (const std::exception& e) {
      pause_sweep(e);  // the sweep starts when the database answers
      return;
    }
  }
  sweep_slice();
}

}  // namespace ocs::gx

#include "session_audit.hpp"

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "../server_request.hpp"
#include "ocs/common/clock.hpp"

namespace ocs::gx {

SessionAuditor::SessionAuditor(const Dict& dict, store::PolicyStore& policies, store::ChargingStore& sessions,
                               std::shared_ptr<gy::SessionIds> unknown, std::chrono::seconds audit_after,
                               int answer_timeout_ms, std::shared_ptr<spdlog::logger> log)
    : dict_(dict), policies_(policies), sessions_(sessions), unknown_(std::move(unknown)), audit_after_(audit_after),
      every_(std::min(audit_after, std::chrono::seconds(60))), timeout_ms_(answer_timeout_ms), log_(std::move(log)) {
  log_->info("gx audit: sessions silent for {} s are asked whether their PCEF still has them", audit_after_.count());
}

void SessionAuditor::idle() {
  handle_answers();
  const auto t = std::chrono::steady_clock::now();
  if (t < next_audit_) return;
  next_audit_ = t + every_;
  try {
    audit();
  } catch (const std::exception& e) {
    log_->error("gx audit: {}; again in {} s", e.what(), every_.count());
  }
}

void SessionAuditor::handle_answers() {
  for (const auto& id : answers_->alive.take()) {
    probes_.erase(id);
    try {
      if (policies_.policy_session_seen(id, seconds_now()))
        log_->info("gx audit session={}: its PCEF still has it", id);
    } catch (const std::exception& e) {
      log_->error("gx audit session={}: cannot record the answer: {}", id, e.what());
    }
  }
  for (const auto& id : answers_->failed.take()) failed(id, "no answer, or refused");
}

void SessionAuditor::audit() {
  const auto silent = policies_.silent_policy_sessions(seconds_now() - audit_after_, kBatch);
  if (silent.size() < kBatch) {
    // Forget the probes of sessions that are no longer silent (a request
    // came) or no longer open.
    std::unordered_set<std::string> ids;
    for (const auto& s : silent) ids.insert(s.session_id);
    std::erase_if(probes_, [&](const auto& p) { return !ids.contains(p.first); });
  }
  const auto t = std::chrono::steady_clock::now();
  for (const auto& s : silent) {
    const auto it = probes_.find(s.session_id);
    // Asked less than a period ago: its answer is awaited, or it failed
    // once and is asked again a period later.
    if (it != probes_.end() && t - it->second.sent < audit_after_) continue;
    probe(s);
  }
}

void SessionAuditor::probe(const store::SilentPolicySession& s) {
  probes_[s.session_id].sent = std::chrono::steady_clock::now();
  if (s.origin.origin_host.empty()) {
    failed(s.session_id, "no Origin-Host to send the RAR to");
    return;
  }
  msg* m = build_rar(s.origin, s.session_id, Rar{}, dict_);
  auto on_answer = [answers = answers_, unknown = unknown_, log = log_, sid = s.session_id](
                       std::optional<std::uint32_t> code, bool timed_out) {
    if (timed_out) {
      log->warn("gx audit session={}: no answer in time (PCEF gone?)", sid);
      answers->failed.push(sid);
    } else if (code && *code == 2001) {
      answers->alive.push(sid);
    } else if (code && *code == 5002) {
      log->warn("gx audit session={}: PCEF answered 5002 UNKNOWN_SESSION_ID", sid);
      unknown->push(sid);
    } else {
      log->warn("gx audit session={}: answered {}", sid, code ? std::to_string(*code) : "without Result-Code");
      answers->failed.push(sid);
    }
  };
  if (!diameter::send_request(&m, timeout_ms_, std::move(on_answer))) {
    failed(s.session_id, "cannot send the RAR (PCEF not connected?)");
    return;
  }
  log_->info("gx audit session={} subscriber_id={} peer={}: silent since {} (unix), RAR sent", s.session_id,
             s.subscriber_id, s.origin.origin_host, s.last_seen.time_since_epoch().count());
}

void SessionAuditor::failed(const std::string& session_id, const char* why) {
  auto& p = probes_[session_id];
  if (++p.failures < kFailuresToClose) {
    log_->warn("gx audit session={}: {}; asking again in {} s", session_id, why, audit_after_.count());
    return;
  }
  probes_.erase(session_id);
  try {
    if (sessions_.close_session(session_id, "client: unreachable", seconds_now()))
      log_->warn("gx audit session={} closed: client: unreachable", session_id);
  } catch (const std::exception& e) {
    log_->error("gx audit session={}: cannot close: {}", session_id, e.what());
  }
}

}  // namespace ocs::gx

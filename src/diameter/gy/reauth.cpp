#include "reauth.hpp"

#include <algorithm>

#include "ocs/common/clock.hpp"

namespace ocs::gy {

Reauthorizer::Reauthorizer(const config::GyConfig& cfg, std::string dsn, const Dict& dict,
                           store::ChargingStore& store, std::shared_ptr<spdlog::logger> log)
    : cfg_(cfg), dsn_(std::move(dsn)), dict_(dict), store_(store), log_(std::move(log)) {}

Reauthorizer::~Reauthorizer() { stop(); }

void Reauthorizer::start() {
  if (!cfg_.server_requests_via_relay) routing_.register_for(4);
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void Reauthorizer::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  routing_.unregister();
}

void Reauthorizer::run() {
  std::unique_ptr<store::AccountEvents> events;
  while (!stop_) {
    try {
      if (!events) events = std::make_unique<store::AccountEvents>(dsn_);
      const bool busy = std::any_of(sinks_.begin(), sinks_.end(), [](const auto* s) { return s->has_work(); });
      for (const auto& e : events->wait(std::chrono::milliseconds(busy ? 0 : 500))) {
        on_event(e);
        for (auto* sink : sinks_) notify_sink(*sink, &e);
      }
      close_unknown_sessions();
      for (auto* sink : sinks_) notify_sink(*sink, nullptr);
    } catch (const std::exception& e) {
      log_->error("gy account events: {}; retrying", e.what());
      events.reset();
      for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

void Reauthorizer::notify_sink(AccountEventSink& sink, const store::AccountEvent* e) {
  try {
    if (e) {
      sink.on_event(*e);
    } else {
      sink.idle();
    }
  } catch (const std::exception& ex) {
    log_->error("account event sink: {}", ex.what());
  }
}

void Reauthorizer::close_unknown_sessions() {
  for (const auto& id : unknown_->take()) {
    try {
      const auto now = seconds_now();
      if (auto closed = store_.close_session(id, "client: unknown session", now))
        log_->info("session={} closed: its client answered 5002 UNKNOWN_SESSION_ID; {} released", id,
                   closed->released);
    } catch (const std::exception& e) {
      // Gy: supervision closes it later. Gx has no supervision: the session
      // audit (when on) asks its PCEF again a period later.
      log_->error("session={}: cannot close: {} (Gy: supervision will; Gx: the session audit, if on, asks again)", id,
                  e.what());
    }
  }
}

void Reauthorizer::on_event(const store::AccountEvent& e) {
  if (e.event == "resync") {
    // Notifications sent while the LISTEN connection was down are lost:
    // re-check every subscriber whose session waits for credit.
    if (!cfg_.reauth_on_credit) return;
    const auto waiting = store_.subscribers_awaiting_credit("gy");
    log_->warn("gy account events: reconnected; re-checking {} subscriber(s) waiting for credit", waiting.size());
    for (auto id : waiting) on_event(store::AccountEvent{id, "credit", ""});
    return;
  }
  const bool credit = e.event == "credit" && cfg_.reauth_on_credit;
  const bool blocked = e.event == "status" && cfg_.abort_on_block &&
                       (e.payload.find("\"blocked\"") != std::string::npos ||
                        e.payload.find("\"suspended\"") != std::string::npos);
  if (!credit && !blocked) return;
  for (const auto& s : store_.open_sessions(e.subscriber_id, "gy")) {
    if (s.origin.origin_host.empty()) continue;
    if (blocked) {
      send_asr(s);
    } else if (s.credit_exhausted) {
      send_rar(s);
    }
  }
}

msg* Reauthorizer::new_request(dict_object* command, const store::OpenSession& s) {
  msg* m = nullptr;
  fdx::fd_check(fd_msg_new(command, MSGFL_ALLOC_ETEID, &m), "fd_msg_new");
  fdx::MsgPtr owned(m);
  // Base-protocol commands have no application in the dictionary: say Gy.
  fdx::header(m)->msg_appl = 4;
  fdx::add_session_id(m, dict_.session_id, s.session_id);
  fdx::fd_check(fd_msg_add_origin(m, 0), "fd_msg_add_origin");
  fdx::add_str(m, dict_.destination_realm, s.origin.origin_realm);
  fdx::add_str(m, dict_.destination_host, s.origin.origin_host);
  fdx::add_u32(m, dict_.auth_application_id, 4);
  return owned.release();
}

void Reauthorizer::send_with_timeout(msg** m, const std::string& what, const std::string& session_id) {
  auto on_answer = [log = log_, what, session_id, unknown = unknown_](std::optional<std::uint32_t> code,
                                                                       bool timed_out) {
    if (timed_out) {
      log->warn("gy {} session={}: no answer in time (peer gone?)", what, session_id);
    } else if (!code) {
      log->warn("gy {} session={}: answer without Result-Code", what, session_id);
    } else if (*code == 2001 || *code == 2002) {
      log->info("gy {} session={}: accepted ({})", what, session_id, *code);
    } else if (*code == 5002) {
      // The client no longer knows the session: close it, release its hold.
      log->warn("gy {} session={}: client answered 5002 UNKNOWN_SESSION_ID; closing the session", what, session_id);
      unknown->push(session_id);
    } else {
      log->warn("gy {} session={}: refused with {}", what, session_id, *code);
    }
  };
  if (!diameter::send_request(m, cfg_.peer_answer_timeout_ms, std::move(on_answer))) {
    log_->warn("gy {} session={}: cannot send", what, session_id);
    return;
  }
  log_->info("gy {} session={} sent", what, session_id);
}

void Reauthorizer::send_rar(const store::OpenSession& s) {
  try {
    msg* m = new_request(dict_.rar, s);
    fdx::MsgPtr owned(m);
    fdx::add_i32(m, dict_.re_auth_request_type, 0);  // AUTHORIZE_ONLY
    if (s.rating_group_in_disconnect)
      for (auto rg : s.exhausted_rating_groups) fdx::add_u32(m, dict_.rating_group, rg);
    msg* raw = owned.release();
    send_with_timeout(&raw, "RAR", s.session_id);
  } catch (const std::exception& e) {
    log_->error("gy RAR session={}: {}", s.session_id, e.what());
  }
}

void Reauthorizer::send_asr(const store::OpenSession& s) {
  try {
    msg* raw = new_request(dict_.asr, s);
    send_with_timeout(&raw, "ASR", s.session_id);
  } catch (const std::exception& e) {
    log_->error("gy ASR session={}: {}", s.session_id, e.what());
  }
}

}  // namespace ocs::gy

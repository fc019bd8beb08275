#include "reauth.hpp"

#include <cstring>
#include <ctime>

namespace ocs::gy {

namespace {

/// What one outstanding RAR or ASR is about, for its answer callback.
struct Pending {
  std::shared_ptr<spdlog::logger> log;
  std::string what;  // "RAR" or "ASR"
  std::string session_id;
  std::shared_ptr<UnknownSessions> unknown;
};

std::optional<std::uint32_t> result_of(msg* answer) {
  std::optional<std::uint32_t> code;
  fdx::for_each_child(answer, [&](avp* a) {
    const avp_hdr* h = fdx::header(a);
    if (h->avp_code == 268 && !(h->avp_flags & AVP_FLAG_VENDOR)) code = fdx::u32_of(a);
    if (h->avp_code == 297 && !code)  // Experimental-Result
      if (avp* c = fdx::first_child(a, 298)) code = fdx::u32_of(c);
  });
  return code;
}

void on_answer(void* data, msg** answer) {
  std::unique_ptr<Pending> p(static_cast<Pending*>(data));
  try {
    const auto code = answer && *answer ? result_of(*answer) : std::nullopt;
    if (!code) {
      p->log->warn("gy {} session={}: answer without Result-Code", p->what, p->session_id);
    } else if (*code == 2001 || *code == 2002) {
      p->log->info("gy {} session={}: accepted ({})", p->what, p->session_id, *code);
    } else if (*code == 5002) {
      // The client no longer knows the session: close it, release its hold.
      p->log->warn("gy {} session={}: client answered 5002 UNKNOWN_SESSION_ID; closing the session", p->what,
                   p->session_id);
      p->unknown->push(p->session_id);
    } else {
      p->log->warn("gy {} session={}: refused with {}", p->what, p->session_id, *code);
    }
  } catch (const std::exception& e) {
    p->log->error("gy {} session={}: bad answer: {}", p->what, p->session_id, e.what());
  }
  if (answer && *answer) {
    (void)fd_msg_free(*answer);
    *answer = nullptr;
  }
}

void on_expired(void* data, DiamId_t /*peer*/, std::size_t /*len*/, msg** request) {
  std::unique_ptr<Pending> p(static_cast<Pending*>(data));
  p->log->warn("gy {} session={}: no answer in time (peer gone?)", p->what, p->session_id);
  if (request && *request) {
    (void)fd_msg_free(*request);
    *request = nullptr;
  }
}

/// Outgoing routing: freeDiameter scores every open peer of the realm as a
/// candidate, so without this a RAR for a client that is gone would reach
/// another client. Our RAR/ASR go to Destination-Host's own connection only
/// (unless gy.server_requests_via_relay: then a relay may carry them).
int route_to_destination_host(void* /*data*/, msg** pmsg, fd_list* candidates) {
  try {
    if (!pmsg || !*pmsg) return 0;
    const msg_hdr* h = fdx::header(*pmsg);
    if (!(h->msg_flags & CMD_FLAG_REQUEST) || h->msg_appl != 4) return 0;
    if (h->msg_code != 258 && h->msg_code != 274) return 0;
    const auto dest = fdx::str_of(fdx::first_child(*pmsg, 293));
    if (!dest) return 0;
    for (fd_list* li = candidates->next; li != candidates; li = li->next) {
      auto* c = reinterpret_cast<rtd_candidate*>(li);
      if (std::string_view(c->diamid, c->diamidlen) != *dest) c->score += FD_SCORE_NO_DELIVERY;
    }
  } catch (...) {
    // Leave the scores as they are: freeDiameter's own routing decides.
  }
  return 0;
}

}  // namespace

Reauthorizer::Reauthorizer(const config::GyConfig& cfg, std::string dsn, const Dict& dict,
                           store::ChargingStore& store, std::shared_ptr<spdlog::logger> log)
    : cfg_(cfg), dsn_(std::move(dsn)), dict_(dict), store_(store), log_(std::move(log)) {}

Reauthorizer::~Reauthorizer() { stop(); }

void Reauthorizer::start() {
  if (!cfg_.server_requests_via_relay)
    fdx::fd_check(fd_rt_out_register(route_to_destination_host, nullptr, 0, &route_), "fd_rt_out_register");
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void Reauthorizer::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (route_) {
    (void)fd_rt_out_unregister(route_, nullptr);
    route_ = nullptr;
  }
}

void Reauthorizer::run() {
  std::unique_ptr<store::AccountEvents> events;
  while (!stop_) {
    try {
      if (!events) events = std::make_unique<store::AccountEvents>(dsn_);
      for (const auto& e : events->wait(std::chrono::milliseconds(500))) on_event(e);
      close_unknown_sessions();
    } catch (const std::exception& e) {
      log_->error("gy account events: {}; retrying", e.what());
      events.reset();
      for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

void Reauthorizer::close_unknown_sessions() {
  for (const auto& id : unknown_->take()) {
    try {
      const auto now = std::chrono::time_point_cast<std::chrono::seconds>(Clock::now());
      if (auto closed = store_.close_session(id, "client: unknown session", now))
        log_->info("gy session={} closed: its client no longer knows it; {} released", id, closed->released);
    } catch (const std::exception& e) {
      log_->error("gy session={}: cannot close: {} (supervision will)", id, e.what());
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
  avp* sid = nullptr;
  fdx::fd_check(fd_msg_avp_new(dict_.session_id, 0, &sid), "fd_msg_avp_new");
  avp_value v{};
  v.os.data = reinterpret_cast<std::uint8_t*>(const_cast<char*>(s.session_id.data()));
  v.os.len = s.session_id.size();
  if (int rc = fd_msg_avp_setvalue(sid, &v); rc != 0) {
    (void)fd_msg_free(sid);
    fdx::fd_check(rc, "fd_msg_avp_setvalue");
  }
  if (int rc = fd_msg_avp_add(m, MSG_BRW_FIRST_CHILD, sid); rc != 0) {
    (void)fd_msg_free(sid);
    fdx::fd_check(rc, "fd_msg_avp_add");
  }
  fdx::fd_check(fd_msg_add_origin(m, 0), "fd_msg_add_origin");
  fdx::add_str(m, dict_.destination_realm, s.origin.origin_realm);
  fdx::add_str(m, dict_.destination_host, s.origin.origin_host);
  fdx::add_u32(m, dict_.auth_application_id, 4);
  return owned.release();
}

void Reauthorizer::send_with_timeout(msg** m, const std::string& what, const std::string& session_id) {
  timespec deadline{};
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += cfg_.peer_answer_timeout_ms / 1000;
  deadline.tv_nsec += static_cast<long>(cfg_.peer_answer_timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1000000000L;
  }
  auto* pending = new Pending{log_, what, session_id, unknown_};
  const int rc = fd_msg_send_timeout(m, on_answer, pending, on_expired, &deadline);
  if (rc != 0) {
    delete pending;
    if (*m) {
      (void)fd_msg_free(*m);
      *m = nullptr;
    }
    log_->warn("gy {} session={}: cannot send: {}", what, session_id, std::strerror(rc));
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

// Server-initiated requests on account changes (RFC 4006 5.5, RFC 6733 8.5):
// when a subscriber's credit rises, RAR to its Gy sessions that were refused
// credit or hotlined, so the client comes back with CCR-U; when it is
// blocked or suspended, ASR to all its Gy sessions.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

#include "ocs/config/config.hpp"
#include "ocs/store/notifications.hpp"
#include "ocs/store/store.hpp"
#include "../server_request.hpp"
#include "wire.hpp"

namespace ocs::gy {

/// Session ids that answer callbacks (on freeDiameter's threads) hand to
/// the listener thread, which acts on them: never database work on a
/// freeDiameter thread. Shared with the callbacks, which may outlive their
/// owner at shutdown.
class SessionIds {
 public:
  void push(std::string session_id) {
    std::lock_guard g(mu_);
    ids_.push_back(std::move(session_id));
  }
  std::vector<std::string> take() {
    std::lock_guard g(mu_);
    return std::exchange(ids_, {});
  }

 private:
  std::mutex mu_;
  std::vector<std::string> ids_;
};

/// Another front-end acting on the same account events (Gx), called on the
/// listener thread; one LISTEN connection serves them all.
class AccountEventSink {
 public:
  virtual ~AccountEventSink() = default;
  virtual void on_event(const store::AccountEvent& e) = 0;
  /// After each wait (at least every 500 ms): deferred work. Long work is
  /// done a slice at a time, so that events keep being handled meanwhile.
  virtual void idle() {}
  /// Work is left for the next idle(): the listener does not wait for
  /// events before calling it again.
  virtual bool has_work() const { return false; }
};

class Reauthorizer {
 public:
  Reauthorizer(const config::GyConfig& cfg, std::string dsn, const Dict& dict, store::ChargingStore& store,
               std::shared_ptr<spdlog::logger> log);
  ~Reauthorizer();
  Reauthorizer(const Reauthorizer&) = delete;
  Reauthorizer& operator=(const Reauthorizer&) = delete;

  /// Adds a sink (before start(); it must outlive this Reauthorizer's thread).
  void add_sink(AccountEventSink& sink) { sinks_.push_back(&sink); }

  void start();
  void stop();

  /// Acts on one account event (public for the listener thread and tests).
  void on_event(const store::AccountEvent& e);

  /// Sessions whose client answered a RAR or ASR with 5002: the listener
  /// closes them ("client: unknown session") after each wait. The Gx
  /// front-end's RARs (policy changes, the session audit) push theirs here.
  std::shared_ptr<SessionIds> unknown_sessions() const { return unknown_; }

 private:
  void run();
  void close_unknown_sessions();
  void notify_sink(AccountEventSink& sink, const store::AccountEvent* e);
  void send_rar(const store::OpenSession& s);
  void send_asr(const store::OpenSession& s);
  msg* new_request(dict_object* command, const store::OpenSession& s);
  void send_with_timeout(msg** m, const std::string& what, const std::string& session_id);

  const config::GyConfig cfg_;
  const std::string dsn_;
  const Dict& dict_;
  store::ChargingStore& store_;
  std::shared_ptr<spdlog::logger> log_;
  diameter::DestinationHostRouting routing_;
  std::shared_ptr<SessionIds> unknown_ = std::make_shared<SessionIds>();
  std::vector<AccountEventSink*> sinks_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ocs::gy

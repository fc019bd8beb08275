// Server-initiated requests on account changes (RFC 4006 5.5, RFC 6733 8.5):
// when a subscriber's credit rises, RAR to its Gy sessions that were refused
// credit or hotlined, so the client comes back with CCR-U; when it is
// blocked or suspended, ASR to all its Gy sessions.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

#include "ocs/config/config.hpp"
#include "ocs/store/notifications.hpp"
#include "ocs/store/store.hpp"
#include "wire.hpp"

namespace ocs::gy {

class Reauthorizer {
 public:
  Reauthorizer(const config::GyConfig& cfg, std::string dsn, const Dict& dict, store::ChargingStore& store,
               std::shared_ptr<spdlog::logger> log);
  ~Reauthorizer();
  Reauthorizer(const Reauthorizer&) = delete;
  Reauthorizer& operator=(const Reauthorizer&) = delete;

  void start();
  void stop();

  /// Acts on one account event (public for the listener thread and tests).
  void on_event(const store::AccountEvent& e);

 private:
  void run();
  void send_rar(const store::OpenSession& s);
  void send_asr(const store::OpenSession& s);
  msg* new_request(dict_object* command, const store::OpenSession& s);
  void send_with_timeout(msg** m, const std::string& what, const std::string& session_id);

  const config::GyConfig cfg_;
  const std::string dsn_;
  const Dict& dict_;
  store::ChargingStore& store_;
  std::shared_ptr<spdlog::logger> log_;
  fd_rt_out_hdl* route_ = nullptr;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ocs::gy

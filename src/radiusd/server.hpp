// ocs-radiusd's transport: two UDP sockets on one Boost.Asio io_context
// (one thread) and a duplicate cache (RFC 5080). Requests are coroutines
// (Service::handle) whose database work the Pipeline's runner threads do in
// batches: nothing blocks the I/O thread.
//
// I/O thread: receive, decode (malformed: drop and log), find the NAS by
// source address (unknown: drop and log), verify the authenticators
// (bad: drop), look the request up in the duplicate cache (answered: resend
// the cached reply; in progress: drop), else start it, unless a request of
// its session is in progress: then it waits for that one, so that a
// session's requests are handled one at a time and in order. At most
// `workers` requests are in progress; up to `queue_limit` more wait, past
// that new ones are dropped (the NAS retransmits). The request decides and
// signs its reply wherever it ends (a runner, usually) and posts it back;
// the I/O thread caches and sends it, and starts the next one.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio.hpp>
#include <spdlog/spdlog.h>

#include "ocs/common/task.hpp"
#include "ocs/config/config.hpp"
#include "ocs/radius/packet.hpp"
#include "ocs/store/radius_store.hpp"
#include "service.hpp"

namespace ocs::radiusd {

class Server {
 public:
  /// Binds both sockets and loads the NAS clients; throws on failure.
  /// `pipeline` runs the requests' database work and the NAS reloads; the
  /// server stops it at the end of run().
  Server(const config::RadiusConfig& config, Service& service, store::RadiusStore& store, Pipeline& pipeline,
         std::shared_ptr<spdlog::logger> log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Serves until stop(). Call from one thread.
  void run();
  /// Thread-safe; run() returns soon after.
  void stop();

  boost::asio::io_context& io() { return io_; }
  std::uint16_t auth_port() const { return auth_.local_endpoint().port(); }
  std::uint16_t acct_port() const { return acct_.local_endpoint().port(); }

 private:
  using udp = boost::asio::ip::udp;
  /// Source address, source port, Identifier, Request Authenticator.
  using CacheKey = std::tuple<std::string, std::uint16_t, std::uint8_t, radius::Authenticator>;
  struct CacheEntry {
    bool done = false;
    std::vector<std::uint8_t> reply;
  };

  void receive(udp::socket& socket, bool accounting);
  void on_datagram(udp::socket& socket, bool accounting, std::size_t size);
  void answer_now(udp::socket& socket, const udp::endpoint& to, radius::Packet reply, const radius::Packet& request,
                  const Nas& nas);
  /// A verified request to handle: owned by its coroutine while it runs.
  struct Flow {
    radius::Packet request;
    Nas nas;
    CacheKey key;
    udp::socket* socket = nullptr;
    udp::endpoint from;
    std::string session;  // Server's session_key: one in progress per key
  };
  void admit(Flow flow);
  void start(Flow flow);
  Detached serve(Flow flow);
  Detached reload_nas();
  void complete(const CacheKey& key, std::optional<std::vector<std::uint8_t>> reply, udp::socket& socket,
                const udp::endpoint& to, const std::string& session);
  bool reserve_cache_slot(const CacheKey& key);
  void schedule_nas_reload();
  void set_nas(const std::vector<store::NasClient>& rows);

  const config::RadiusConfig& config_;
  Service& service_;
  store::RadiusStore& store_;
  Pipeline& pipeline_;
  std::shared_ptr<spdlog::logger> log_;

  boost::asio::io_context io_;
  udp::socket auth_;
  udp::socket acct_;
  boost::asio::steady_timer reload_timer_;
  std::array<std::uint8_t, radius::kMaxPacketSize + 1> buffer_auth_{};
  std::array<std::uint8_t, radius::kMaxPacketSize + 1> buffer_acct_{};
  udp::endpoint from_auth_;
  udp::endpoint from_acct_;

  // I/O thread only.
  std::map<std::string, Nas> nas_;
  std::map<CacheKey, CacheEntry> cache_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, CacheKey>> answered_;
  // Sessions with a request in progress or waiting to start: the requests
  // that arrived after it, in order.
  std::unordered_map<std::string, std::deque<Flow>> sessions_;
  // Requests whose session is free, waiting for fewer than `workers` in
  // progress.
  std::deque<Flow> ready_;
  std::size_t in_progress_ = 0;
  std::size_t waiting_ = 0;  // in ready_ and behind their session
  bool nas_reload_running_ = false;
};

}  // namespace ocs::radiusd

// ocs-radiusd's transport: two UDP sockets on one Boost.Asio io_context
// (one thread), a duplicate cache (RFC 5080), and a bounded pool of worker
// threads that run the Service (database work never blocks the I/O thread).
//
// I/O thread: receive, decode (malformed: drop and log), find the NAS by
// source address (unknown: drop and log), verify the authenticators
// (bad: drop), look the request up in the duplicate cache (answered: resend
// the cached reply; in progress: drop), else hand it to the worker that owns
// its session. The worker decides, signs and posts the reply back; the I/O
// thread caches and sends it. Requests of one session always go to the same
// worker, so they are handled one at a time and in order.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio.hpp>
#include <spdlog/spdlog.h>

#include "ocs/common/work_queue.hpp"
#include "ocs/config/config.hpp"
#include "ocs/radius/packet.hpp"
#include "ocs/store/radius_store.hpp"
#include "service.hpp"

namespace ocs::radiusd {

class Server {
 public:
  /// Binds both sockets and loads the NAS clients; throws on failure.
  Server(const config::RadiusConfig& config, Service& service, store::RadiusStore& store,
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
  void complete(const CacheKey& key, std::optional<std::vector<std::uint8_t>> reply, udp::socket& socket,
                const udp::endpoint& to);
  bool reserve_cache_slot(const CacheKey& key);
  void schedule_nas_reload();
  void set_nas(const std::vector<store::NasClient>& rows);

  const config::RadiusConfig& config_;
  Service& service_;
  store::RadiusStore& store_;
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

  std::vector<std::unique_ptr<WorkQueue<std::function<void()>>>> workers_;
};

}  // namespace ocs::radiusd

// A minimal Diameter client peer over TCP for tests and the load generator:
// capabilities exchange, watchdog answers, request/answer matching by
// hop-by-hop id (many requests may be in flight), server-initiated requests
// (RAR, ASR) handed to a callback, and a clean DPR on close.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "codec.hpp"

namespace ocs::dia {

struct PeerConfig {
  std::string host = "127.0.0.1";
  int port = 3868;
  std::string origin_host = "client.localdomain";
  std::string origin_realm = "localdomain";
  /// Advertised in CER: Auth-Application-Id values and vendor-specific ones.
  std::vector<std::uint32_t> auth_apps = {4};
  std::vector<std::pair<std::uint32_t, std::uint32_t>> vendor_apps;  // {vendor, app}
};

class Peer {
 public:
  using AnswerCallback = std::function<void(std::optional<Message>)>;
  /// Called on the reader thread for a request from the server; returns the
  /// answer to send (its ids are filled in).
  using RequestHandler = std::function<Message(const Message&)>;

  explicit Peer(PeerConfig cfg);
  ~Peer();
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  /// Connects and exchanges capabilities. Throws on failure or non-2001 CEA.
  void connect(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// connect(), tried up to `attempts` times `pause` apart: freeDiameter
  /// 1.2.1 drops a CER that arrives while it still cleans up the previous
  /// connection of the same Origin-Host (right after a DPR). Rethrows the
  /// last failure.
  void connect_retrying(int attempts = 10, std::chrono::milliseconds pause = std::chrono::milliseconds(200),
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Sends DPR, waits briefly for DPA, closes.
  void close();

  /// Sends a request and waits for its answer (nullopt on timeout or close).
  std::optional<Message> request(Message m, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Sends a request; `cb` runs on the reader thread with the answer, or with
  /// nullopt when the connection closes first.
  void request_async(Message m, AnswerCallback cb);
  /// Sends raw bytes (to test malformed input).
  void send_raw(const std::vector<std::uint8_t>& bytes);

  void on_request(RequestHandler h);
  /// Without a handler, requests are answered 2001; after this, those of
  /// `session_id` are answered 5002 DIAMETER_UNKNOWN_SESSION_ID (a client
  /// that lost the session).
  void forget_session(std::string session_id);
  /// Requests the server sent us, in arrival order.
  std::vector<Message> received_requests() const;
  /// Waits until at least `n` server requests arrived.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout);

  const PeerConfig& config() const { return cfg_; }
  /// The CEA of the last successful connect().
  const Message& capabilities_answer() const { return cea_; }
  /// How many DWRs from the server the reader has answered.
  std::size_t watchdogs_answered() const { return watchdogs_; }
  std::uint32_t next_id() { return ++ids_; }
  /// Builds a session id "<origin-host>;<hi>;<lo>;<suffix>".
  std::string new_session_id(const std::string& suffix = "");

 private:
  void reader();
  void write(const std::vector<std::uint8_t>& bytes);
  void fail_pending();

  PeerConfig cfg_;
  int fd_ = -1;
  std::thread reader_;
  std::atomic<bool> closing_{false};
  std::atomic<std::uint32_t> ids_{0};
  std::atomic<std::uint32_t> sessions_{0};
  std::atomic<std::size_t> watchdogs_{0};
  Message cea_;
  std::mutex write_mu_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::uint32_t, AnswerCallback> pending_;
  std::vector<Message> requests_;
  RequestHandler handler_;
  std::set<std::string> forgotten_;  // answered 5002 without a handler
};

}  // namespace ocs::dia

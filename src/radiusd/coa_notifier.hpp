// CoA/Disconnect (RFC 5176) on account events: LISTEN ocs_account (the same
// AccountEvents the Gy Reauthorizer uses) -> the subscriber's open RADIUS
// sessions -> plan_coa -> CoaClient to each session's NAS (coa_port, secret).
//
//   credit (top-up, credit limit, bucket) for a session refused credit or
//     hotlined: re-check the credit in the store; when granted, send what
//     plan_coa says for TopupWhileHotlined (CoA with the normal Filter-Id,
//     or a Disconnect so that the user logs in again unrestricted);
//   status blocked/suspended: Disconnect-Request;
//   exhausted (from the Service, when an Interim-Update leaves a session
//     without credit): Disconnect, or a CoA to the hotline when the RADIUS
//     policy hotlines (radius_on_no_credit) and names a filter or portal;
//   resync (LISTEN reconnected): re-check every subscriber whose RADIUS
//     session waits for credit, and every session's rate limits (below);
//   plan (a subscriber's plan or policy changed), config (an operator edited
//     plans, policies or RADIUS templates): compute each open session's rate
//     limits again (Service::rate_limits) and send a CoA with them to those
//     whose recorded digest differs; an ACK records the new digest, so a
//     NAK or a timeout is tried again at the next such event.
//
// The session is not closed on Disconnect-ACK: the NAS's Accounting-Stop
// closes it and reports the final usage (supervision closes it otherwise).
// Its own thread; sends run on the CoaClient's io_context.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "ocs/config/config.hpp"
#include "ocs/radius/coa.hpp"
#include "ocs/radius/coa_client.hpp"
#include "ocs/store/notifications.hpp"
#include "ocs/store/radius_store.hpp"
#include "ocs/store/store.hpp"
#include "service.hpp"

namespace ocs::radiusd {

/// How plan_coa sees a stored session: nullopt when it cannot be named to
/// its NAS (a provisional "<nas>/auth/<hex>" session without
/// Acct-Session-Id, no User-Name, or a NAS address that does not parse). A
/// NAS at an IPv6 address is named by NAS-IPv6-Address.
std::optional<radius::CoaSession> coa_session_of(const store::CoaSessionInfo& s);

class CoaNotifier {
 public:
  /// Every reference must outlive the notifier.
  CoaNotifier(const config::RadiusConfig& config, std::string dsn, Service& service, store::ChargingStore& charging,
              store::RadiusStore& store, radius::CoaClient& client, std::shared_ptr<spdlog::logger> log);
  ~CoaNotifier();
  CoaNotifier(const CoaNotifier&) = delete;
  CoaNotifier& operator=(const CoaNotifier&) = delete;

  void start();
  void stop();

  /// One account event (the LISTEN thread calls it). Throws StoreError when
  /// the database cannot be used.
  void on_event(const store::AccountEvent& e);

  /// Session `sid` of `subscriber_id` ran out of credit mid-session: send
  /// what plan_coa says for Exhausted under `policy` (Service::OnExhausted).
  /// Throws StoreError when the database cannot be used.
  void exhausted(const std::string& sid, std::int64_t subscriber_id, const radius::CoaPolicy& policy);

  /// Records the digests of the rate-limit CoAs acknowledged since the last
  /// call (the LISTEN thread calls it; CoA answers arrive on the sender's
  /// thread). Throws StoreError when the database cannot be used; what was
  /// not recorded is kept for the next call.
  void record_acknowledged_rates();

 private:
  /// Users looked up per statement by a rate-limit check.
  static constexpr std::size_t kLookupBatch = 500;

  /// Rate-limit CoAs sent and not yet settled (unanswered, or acknowledged
  /// with the digest not recorded yet), shared with the sender's callbacks.
  struct RateCoas {
    std::mutex mutex;
    std::set<std::string> in_flight;                         // session ids
    std::vector<std::pair<std::string, std::string>> acked;  // session id, digest: to record
  };

  void run();
  /// Sends what plan_coa says. With `digest`, an ACK queues it for
  /// record_acknowledged_rates().
  void send(const store::CoaSessionInfo& s, radius::CoaEvent event, const radius::CoaPolicy& policy,
            std::optional<std::string> digest = std::nullopt);
  /// The rate-limit CoAs of `sessions` (see above); logs one line.
  void check_rates(const std::vector<store::CoaSessionInfo>& sessions, std::string_view why);

  const config::RadiusConfig& config_;
  const std::string dsn_;
  Service& service_;
  store::ChargingStore& charging_;
  store::RadiusStore& store_;
  radius::CoaClient& client_;
  std::shared_ptr<spdlog::logger> log_;
  radius::CoaPolicy policy_;
  std::shared_ptr<RateCoas> rate_coas_ = std::make_shared<RateCoas>();
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ocs::radiusd

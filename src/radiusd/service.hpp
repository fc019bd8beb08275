// The RADIUS front-end's logic: one decoded, verified request in, the reply
// to send out (or nothing: drop it). Attributes -> store and core calls ->
// attributes; no sockets here. A request is a coroutine (Task): it awaits
// its user lookup and charges in the Pipeline's batches, and runs on
// whichever thread resumed it (the I/O thread until its first await, then a
// runner). It blocks on nothing: other database calls go through
// Pipeline::run.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include "ocs/common/task.hpp"
#include "ocs/config/config.hpp"
#include "ocs/radius/coa.hpp"
#include "ocs/radius/dictionary.hpp"
#include "ocs/radius/packet.hpp"
#include "ocs/radius/reply.hpp"
#include "ocs/store/radius_store.hpp"
#include "ocs/store/store.hpp"
#include "pipeline.hpp"

namespace ocs::radiusd {

/// The NAS a request came from (nas_clients, resolved).
struct Nas {
  std::string name;
  std::string address;
  std::string secret;
  radius::NasVendor vendor = radius::NasVendor::Generic;
  bool require_message_authenticator = true;
};

/// The session id of a RADIUS session: "<nas-ip>/<Acct-Session-Id>", or
/// "<nas-ip>/hex:<its bytes in hex>" when the Acct-Session-Id is not UTF-8
/// text (RFC 2866 asks for UTF-8; the database can hold nothing else).
std::string session_id(const std::string& nas_address, const std::string& acct_session_id);

/// Running totals of an Accounting-Request (octets with Gigawords).
struct Totals {
  std::uint64_t input_octets = 0;
  std::uint64_t output_octets = 0;
  std::uint64_t seconds = 0;
};
Totals totals_of(const radius::Packet& request);

class Service {
 public:
  using Now = std::function<TimePoint()>;

  /// `charging` and `radius_store` are called directly by recheck_credit and
  /// by the pipeline's blocking jobs; the requests' lookups and charges go
  /// through `pipeline`.
  Service(const config::RadiusConfig& config, store::ChargingStore& charging, store::RadiusStore& radius_store,
          Pipeline& pipeline, const radius::Dictionary& dict, Now now, std::shared_ptr<spdlog::logger> log)
      : config_(config), charging_(charging), store_(radius_store), db_(pipeline), dict_(dict), now_(std::move(now)),
        log_(std::move(log)) {}

  /// The unsigned reply (Access-Accept/Reject, Accounting-Response), or
  /// nothing to drop the request (the NAS retransmits). Throws StoreError
  /// when the database cannot be used: the caller drops the request.
  /// `request` and `nas` must live until the task ends.
  Task<std::optional<radius::Packet>> handle(const radius::Packet& request, const Nas& nas);

  /// After a top-up, for a session that was refused credit or hotlined: asks
  /// the store for a grant again (an Update with no usage, as an empty
  /// Interim-Update would). True when granted, so the restriction may be
  /// lifted (CoA); the session's credit_state is then 'ok' again. Throws
  /// StoreError when the database cannot be used.
  bool recheck_credit(const std::string& sid, const std::string& nas_address);

  /// Called (on a pipeline runner, as a blocking job) when an Interim-Update leaves a session
  /// that had credit with none: the policy says whether the NAS should
  /// disconnect it or hotline it (CoaNotifier::exhausted).
  using OnExhausted =
      std::function<void(const std::string& sid, std::int64_t subscriber_id, const radius::CoaPolicy& policy)>;
  /// Set before the server runs.
  void set_on_exhausted(OnExhausted f) { on_exhausted_ = std::move(f); }

  /// The rate-limit attributes an Access-Accept would give `user` on a NAS
  /// of `vendor` now: the policy's rates (scaled) in the vendor's dialect,
  /// with the policy's radius_response lines applied (a template may
  /// override them). Their rate_limit_digest is recorded in the session's
  /// client_info ("rate_digest") when an Access-Request opens it, and
  /// CoaNotifier compares it after a plan or policy change.
  std::vector<radius::Attribute> rate_limits(const store::RadiusUser& user, radius::NasVendor vendor,
                                             const std::string& user_name) const;

 private:
  Task<std::optional<radius::Packet>> access(const radius::Packet& request, const Nas& nas);
  Task<std::optional<radius::Packet>> reauthorize(const radius::Packet& request, const Nas& nas,
                                                  const store::RadiusUser& user);
  Task<std::optional<radius::Packet>> accounting(const radius::Packet& request, const Nas& nas);
  /// An accounting charge, logged.
  Task<store::ChargeResult> charge(const store::ChargeRequest& r, TimePoint now, const char* event, const Nas& nas);
  /// What CoA/Disconnect needs to name the session (User-Name,
  /// Acct-Session-Id, Framed-IP-Address), stored in its client_info by the
  /// charge that opens it (ChargeRequest::origin.client), or at a Start
  /// after the Access-Request by an attach_only request in the group
  /// commit's next batch: committed before the answer either way.
  static void remember_client(store::ChargeRequest& r, const radius::Packet& request,
                              const std::string& acct_session_id);
  void exhausted(const std::string& sid, std::int64_t subscriber_id, const std::optional<std::string>& user_name,
                 const Nas& nas);

  const config::RadiusConfig& config_;
  store::ChargingStore& charging_;
  store::RadiusStore& store_;
  Pipeline& db_;
  const radius::Dictionary& dict_;
  Now now_;
  std::shared_ptr<spdlog::logger> log_;
  OnExhausted on_exhausted_;
};

}  // namespace ocs::radiusd

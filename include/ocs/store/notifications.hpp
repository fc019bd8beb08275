// Account changes pushed by the database: the triggers of the schema NOTIFY
// channel 'ocs_account' when a balance or credit limit rises, a bucket is
// added, or a subscriber's status, plan or policy changes. Front-ends use
// them to re-authorise (RAR, CoA) or end (ASR, Disconnect) sessions.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/pqxx>

namespace ocs::store {

struct AccountEvent {
  std::int64_t subscriber_id = 0;  // 0 for "resync"
  /// "credit" (balance, credit limit or bucket added), "status", "plan",
  /// "config" (subscriber 0: plans, policies, Gx rules, usage allowances or
  /// RADIUS templates were edited), or "resync": the connection was
  /// re-established and notifications may have been missed, so re-check
  /// every session that waits for credit.
  std::string event;
  std::string payload;  // the JSON the trigger sent ("" for resync)
};

/// A LISTEN on its own connection (never a pooled one: LISTEN belongs to a
/// session). Not thread-safe: one thread calls wait() in a loop.
class AccountEvents {
 public:
  static constexpr const char* kChannel = "ocs_account";

  /// Connects and LISTENs. Throws StoreError(Unavailable) when the first
  /// connection fails; later failures are retried inside wait().
  explicit AccountEvents(std::string dsn);
  ~AccountEvents();
  AccountEvents(const AccountEvents&) = delete;
  AccountEvents& operator=(const AccountEvents&) = delete;

  /// The events that arrived, waiting up to `timeout` for the first one.
  /// Empty when nothing came. After a broken connection it reconnects
  /// (retrying within the timeout) and reports a "resync" event. Payloads
  /// that are not the triggers' JSON are dropped.
  std::vector<AccountEvent> wait(std::chrono::milliseconds timeout);

 private:
  class Listener;
  void connect();
  void disconnect() noexcept;

  std::string dsn_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<Listener> listener_;
  std::vector<AccountEvent> pending_;
};

/// Parses a trigger payload such as
/// {"subscriber_id" : 7, "event" : "credit", "balance" : 100}.
/// False when subscriber_id or event is missing or malformed.
bool parse_account_event(const std::string& payload, AccountEvent& out);

}  // namespace ocs::store

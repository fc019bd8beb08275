#include "ocs/store/notifications.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>
#include <thread>
#include <utility>

#include <pqxx/pqxx>

#include "ocs/store/store.hpp"

namespace ocs::store {
namespace {

/// The position just after `"key"` and its colon, or npos.
std::size_t value_of_key(std::string_view json, std::string_view key) {
  const std::string quoted = "\"" + std::string(key) + "\"";
  std::size_t pos = json.find(quoted);
  if (pos == std::string_view::npos) return pos;
  pos += quoted.size();
  while (pos < json.size() && std::isspace(static_cast<unsigned char>(json[pos]))) ++pos;
  if (pos >= json.size() || json[pos] != ':') return std::string_view::npos;
  ++pos;
  while (pos < json.size() && std::isspace(static_cast<unsigned char>(json[pos]))) ++pos;
  return pos;
}

constexpr auto kReconnectPause = std::chrono::milliseconds(200);

}  // namespace

bool parse_account_event(const std::string& payload, AccountEvent& out) {
  const std::string_view json = payload;
  const std::size_t id_at = value_of_key(json, "subscriber_id");
  const std::size_t event_at = value_of_key(json, "event");
  if (id_at == std::string_view::npos || event_at == std::string_view::npos) return false;
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(json.data() + id_at, json.data() + json.size(), id);
  if (ec != std::errc() || end == json.data() + id_at) return false;
  if (event_at >= json.size() || json[event_at] != '"') return false;
  const std::size_t close = json.find('"', event_at + 1);
  if (close == std::string_view::npos || close == event_at + 1) return false;
  out.subscriber_id = id;
  out.event = std::string(json.substr(event_at + 1, close - event_at - 1));
  out.payload = payload;
  return true;
}

class AccountEvents::Listener : public pqxx::notification_receiver {
 public:
  Listener(pqxx::connection& c, std::vector<AccountEvent>& sink)
      : pqxx::notification_receiver(c, AccountEvents::kChannel), sink_(sink) {}

  void operator()(const std::string& payload, int) override {
    AccountEvent e;
    if (parse_account_event(payload, e)) sink_.push_back(std::move(e));
  }

 private:
  std::vector<AccountEvent>& sink_;
};

AccountEvents::AccountEvents(std::string dsn) : dsn_(std::move(dsn)) {
  try {
    connect();
  } catch (const std::exception& e) {
    disconnect();
    throw StoreError(StoreError::Kind::Unavailable, std::string("cannot listen for account events: ") + e.what());
  }
}

AccountEvents::~AccountEvents() { disconnect(); }

void AccountEvents::connect() {
  conn_ = std::make_unique<pqxx::connection>(dsn_);
  listener_ = std::make_unique<Listener>(*conn_, pending_);  // issues LISTEN
}

void AccountEvents::disconnect() noexcept {
  // The receiver unregisters from its connection, so it goes first.
  listener_.reset();
  conn_.reset();
}

std::vector<AccountEvent> AccountEvents::wait(std::chrono::milliseconds timeout) {
  using std::chrono::steady_clock;
  const auto deadline = steady_clock::now() + timeout;
  while (pending_.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - steady_clock::now());
    if (!conn_) {
      try {
        connect();
        pending_.push_back(AccountEvent{0, "resync", ""});
      } catch (const std::exception&) {
        disconnect();
        if (left.count() <= 0) break;
        std::this_thread::sleep_for(std::min<std::chrono::microseconds>(left, kReconnectPause));
      }
      continue;
    }
    try {
      if (conn_->get_notifs() > 0 || left.count() <= 0) break;
      conn_->await_notification(static_cast<long>(left.count() / 1000000), static_cast<long>(left.count() % 1000000));
      conn_->get_notifs();
    } catch (const std::exception&) {
      disconnect();  // broken: the next round reconnects
    }
    if (steady_clock::now() >= deadline && conn_) break;
  }
  return std::exchange(pending_, {});
}

}  // namespace ocs::store

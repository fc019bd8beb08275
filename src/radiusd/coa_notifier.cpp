#include "coa_notifier.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <span>

namespace ocs::radiusd {

namespace {

std::optional<std::uint32_t> ipv4(const std::string& text) {
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

/// A NAS's address as nas_clients holds it (IPv4 or IPv6 text); an
/// IPv4-mapped IPv6 address is its IPv4 address.
std::optional<boost::asio::ip::address> nas_address(const std::string& text) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(text, ec);
  if (ec) return std::nullopt;
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    a = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  return a;
}

bool blocked_status(const std::string& payload) {
  return payload.find("\"blocked\"") != std::string::npos || payload.find("\"suspended\"") != std::string::npos;
}

}  // namespace

std::optional<radius::CoaSession> coa_session_of(const store::CoaSessionInfo& s) {
  radius::CoaSession out;
  out.acct_session_id = s.acct_session_id;
  if (out.acct_session_id.empty()) {
    // "<nas-ip>/<Acct-Session-Id>", unless provisional ("<nas-ip>/auth/<hex>").
    const std::string prefix = s.nas.address + "/";
    if (!s.session_id.starts_with(prefix)) return std::nullopt;
    out.acct_session_id = s.session_id.substr(prefix.size());
    if (out.acct_session_id.empty() || out.acct_session_id.starts_with("auth/")) return std::nullopt;
  }
  out.user_name = s.user_name;
  if (out.user_name.empty()) return std::nullopt;
  const auto nas = nas_address(s.nas.address);
  if (!nas) return std::nullopt;
  if (nas->is_v4()) {
    out.nas_ip = nas->to_v4().to_uint();
  } else {
    out.nas_ipv6 = nas->to_v6().to_bytes();
  }
  if (s.framed_ip) out.framed_ip = ipv4(*s.framed_ip);
  out.vendor = radius::nas_vendor_from_string(s.nas.vendor).value_or(radius::NasVendor::Generic);
  return out;
}

CoaNotifier::CoaNotifier(const config::RadiusConfig& config, std::string dsn, Service& service,
                         store::ChargingStore& charging, store::RadiusStore& store, radius::CoaClient& client,
                         std::shared_ptr<spdlog::logger> log)
    : config_(config), dsn_(std::move(dsn)), service_(service), charging_(charging), store_(store),
      client_(client), log_(std::move(log)) {
  policy_.normal_filter_id = config_.coa_normal_filter_id;
}

CoaNotifier::~CoaNotifier() { stop(); }

void CoaNotifier::start() {
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void CoaNotifier::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void CoaNotifier::run() {
  std::unique_ptr<store::AccountEvents> events;
  while (!stop_) {
    try {
      if (!events) {
        events = std::make_unique<store::AccountEvents>(dsn_);
        log_->info("radius.coa.listening channel={}", store::AccountEvents::kChannel);
      }
      for (const auto& e : events->wait(std::chrono::milliseconds(500))) {
        try {
          on_event(e);
        } catch (const std::exception& ex) {
          log_->error("radius.coa.event_failed subscriber={} event={} error=\"{}\"", e.subscriber_id, e.event,
                      ex.what());
        }
      }
      try {
        record_acknowledged_rates();
      } catch (const std::exception& ex) {
        log_->error("radius.coa.record_failed error=\"{}\"; retrying", ex.what());
      }
    } catch (const std::exception& e) {
      log_->error("radius.coa.listen_failed error=\"{}\"; retrying", e.what());
      events.reset();
      for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

void CoaNotifier::on_event(const store::AccountEvent& e) {
  if (e.event == "resync") {
    // Notifications sent while the LISTEN connection was down are lost.
    const auto waiting = charging_.subscribers_awaiting_credit("radius");
    log_->warn("radius.coa.resync subscribers_awaiting_credit={}", waiting.size());
    for (auto id : waiting) on_event(store::AccountEvent{id, "credit", ""});
    check_rates(store_.rate_limited_sessions(), "resync");
    return;
  }
  if (e.event == "config") {
    check_rates(store_.rate_limited_sessions(), "configuration changed");
    return;
  }
  if (e.event == "plan") {
    check_rates(store_.coa_sessions(e.subscriber_id), "plan changed");
    return;
  }
  const bool credit = e.event == "credit";
  const bool blocked = e.event == "status" && blocked_status(e.payload);
  if (!credit && !blocked) return;
  for (const auto& s : store_.coa_sessions(e.subscriber_id)) {
    if (blocked) {
      send(s, radius::CoaEvent::Blocked, policy_);
    } else if (s.credit_exhausted && service_.recheck_credit(s.session_id, s.nas.address)) {
      send(s, radius::CoaEvent::TopupWhileHotlined, policy_);
    }
  }
}

void CoaNotifier::exhausted(const std::string& sid, std::int64_t subscriber_id, const radius::CoaPolicy& policy) {
  for (const auto& s : store_.coa_sessions(subscriber_id))
    if (s.session_id == sid) send(s, radius::CoaEvent::Exhausted, policy);
}

void CoaNotifier::check_rates(const std::vector<store::CoaSessionInfo>& sessions, std::string_view why) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<const store::CoaSessionInfo*> candidates;
  {
    std::lock_guard lock(rate_coas_->mutex);
    for (const auto& s : sessions)
      // Nothing recorded; hotlined (the top-up's business); or a CoA whose
      // digest is not recorded yet.
      if (s.rate_digest && !s.credit_exhausted && !rate_coas_->in_flight.contains(s.session_id))
        candidates.push_back(&s);
  }
  // Each user once per NAS vendor, in batched lookups.
  std::map<std::pair<std::string, std::string>, std::optional<store::RadiusUser>> users;
  for (const auto* s : candidates) users.try_emplace({s->user_name, s->nas.vendor});
  std::vector<store::RadiusStore::UserQuery> queries;
  for (const auto& [key, user] : users) queries.push_back({key.first, key.second});
  auto user_it = users.begin();
  for (std::size_t i = 0; i < queries.size(); i += kLookupBatch) {
    const auto chunk = std::span(queries).subspan(i, std::min(kLookupBatch, queries.size() - i));
    for (auto& found : store_.find_users(chunk)) (user_it++)->second = std::move(found);
  }
  std::size_t sent = 0;
  for (const auto* s : candidates) {
    const auto& user = users.at({s->user_name, s->nas.vendor});
    // Another subscriber's name now, or blocked (the Disconnect's business).
    if (!user || user->subscriber_id != s->subscriber_id || user->status != SubscriberStatus::Active) continue;
    const auto vendor = radius::nas_vendor_from_string(s->nas.vendor).value_or(radius::NasVendor::Generic);
    auto limits = service_.rate_limits(*user, vendor, s->user_name);
    const std::string digest = radius::rate_limit_digest(limits);
    if (digest == *s->rate_digest) continue;
    radius::CoaPolicy policy;
    policy.rate_limits = limits.empty() ? radius::unlimited_rate_attributes(vendor) : std::move(limits);
    if (policy.rate_limits.empty()) {
      // A Cisco NAS has no value that lifts a limit: it keeps the old one
      // until the user logs in again.
      log_->warn("radius.coa.skipped session={} event=rate-changed reason=no_attribute_lifts_the_limit vendor={}",
                 s->session_id, s->nas.vendor);
      store_.record_rate_digest(s->session_id, digest);
      continue;
    }
    send(*s, radius::CoaEvent::RateChanged, policy, digest);
    ++sent;
  }
  log_->info("radius.coa.rates why=\"{}\" sessions={} checked={} users={} sent={} took={}ms", why, sessions.size(),
             candidates.size(), users.size(), sent,
             std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
}

void CoaNotifier::record_acknowledged_rates() {
  std::vector<std::pair<std::string, std::string>> acked;
  {
    std::lock_guard lock(rate_coas_->mutex);
    acked.swap(rate_coas_->acked);
  }
  for (std::size_t i = 0; i < acked.size(); ++i) {
    try {
      if (!store_.record_rate_digest(acked[i].first, acked[i].second))
        log_->info("radius.coa.rates session={} closed before its rate limits were recorded", acked[i].first);
      std::lock_guard lock(rate_coas_->mutex);
      rate_coas_->in_flight.erase(acked[i].first);
    } catch (...) {
      std::lock_guard lock(rate_coas_->mutex);
      rate_coas_->acked.insert(rate_coas_->acked.begin(), acked.begin() + static_cast<std::ptrdiff_t>(i),
                               acked.end());
      throw;
    }
  }
}

void CoaNotifier::send(const store::CoaSessionInfo& s, radius::CoaEvent event, const radius::CoaPolicy& policy,
                       std::optional<std::string> digest) {
  const auto session = coa_session_of(s);
  if (!session) {
    log_->warn("radius.coa.skipped session={} event={} reason=cannot_identify", s.session_id, to_string(event));
    return;
  }
  auto action = radius::plan_coa(*session, event, policy);
  if (action.kind == radius::CoaAction::Kind::None) return;
  const auto address = nas_address(s.nas.address);
  if (!address || s.nas.coa_port <= 0 || s.nas.coa_port > 65535) {
    log_->warn("radius.coa.skipped session={} event={} reason=bad_nas_address", s.session_id, to_string(event));
    return;
  }
  const char* kind = action.kind == radius::CoaAction::Kind::Coa ? "coa" : "disconnect";
  radius::CoaTarget target{
      boost::asio::ip::udp::endpoint(*address, static_cast<std::uint16_t>(s.nas.coa_port)),
      s.nas.secret};
  log_->info("radius.coa.send session={} nas={} event={} request={} reason={}", s.session_id, s.nas.name,
             to_string(event), kind, action.reason);
  if (digest) {
    std::lock_guard lock(rate_coas_->mutex);
    rate_coas_->in_flight.insert(s.session_id);
  }
  client_.send(std::move(target), std::move(action.request),
               [log = log_, sid = s.session_id, nas = s.nas.name, kind, reason = action.reason,
                digest = std::move(digest), rates = rate_coas_](const radius::CoaResult& r) {
                 if (digest) {
                   // Acknowledged: in flight until the digest is recorded,
                   // so that a check meanwhile does not send it again.
                   std::lock_guard lock(rates->mutex);
                   if (r.outcome == radius::CoaOutcome::Ack)
                     rates->acked.emplace_back(sid, *digest);
                   else
                     rates->in_flight.erase(sid);
                 }
                 switch (r.outcome) {
                   case radius::CoaOutcome::Ack:
                     log->info("radius.coa.ack session={} nas={} request={} reason={} attempts={}", sid, nas, kind,
                               reason, r.attempts);
                     break;
                   case radius::CoaOutcome::Nak:
                     log->warn("radius.coa.nak session={} nas={} request={} reason={} attempts={} error_cause={} ({})",
                               sid, nas, kind, reason, r.attempts, r.error_cause.value_or(0),
                               r.error_cause ? radius::error_cause_name(*r.error_cause) : "none");
                     break;
                   case radius::CoaOutcome::Timeout:
                     log->warn("radius.coa.timeout session={} nas={} request={} reason={} attempts={}", sid, nas, kind,
                               reason, r.attempts);
                     break;
                   case radius::CoaOutcome::Error:
                     log->error("radius.coa.error session={} nas={} request={} reason={} error=\"{}\"", sid, nas,
                                kind, reason, r.error);
                     break;
                 }
               });
}

}  // namespace ocs::radiusd

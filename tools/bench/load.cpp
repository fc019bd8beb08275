#include "load.hpp"

#include "gy_messages.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <thread>

namespace ocs::bench {

namespace {

namespace code = dia::code;
using dia::Avp;
using dia::Message;

constexpr std::uint32_t kSuccess = 2001;
constexpr std::uint32_t kCreditControlApp = 4;
constexpr std::uint32_t kTerminationLogout = 1;  // DIAMETER_LOGOUT
constexpr std::uint32_t kMultipleServicesSupported = 1;

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

bool is_loopback(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return in6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

/// Whether a usage report answered with this MSCC result code was charged:
/// RFC 4006 debits reported usage also when it denies further service.
bool mscc_charges(std::optional<std::uint32_t> rc) { return !rc || *rc == 2001 || *rc == 4010 || *rc == 4012; }

}  // namespace

std::uint64_t micros(Clock::duration d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return us < 0 ? 0 : static_cast<std::uint64_t>(us);
}

std::uint64_t pick_subscriber(const Options& opts, std::uint64_t seq) {
  return opts.random_subscribers ? splitmix64(seq ^ splitmix64(opts.seed)) % opts.subscribers
                                 : seq % opts.subscribers;
}

void require_loopback(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res)
    throw UsageError("--host: cannot resolve '" + host + "'");
  bool ok = true;
  for (addrinfo* a = res; a; a = a->ai_next) ok = ok && is_loopback(a->ai_addr);
  freeaddrinfo(res);
  if (!ok) throw UsageError("--host: '" + host + "' is not a loopback address; ocs-bench only loads this machine");
}

std::uint64_t Results::errors() const {
  std::uint64_t n = timeouts + closed + send_errors + missing_result_code;
  for (const auto& [rc, count] : result_codes)
    if (rc != kSuccess) n += count;
  return n;
}

// One Diameter connection and what its reader thread records.
struct LoadRun::Connection {
  explicit Connection(dia::PeerConfig cfg) : peer(std::move(cfg)) {}
  dia::Peer peer;
  std::mutex mu;  // the reader thread, the timeout sweep and the final merge
  Results stats;
};

struct LoadRun::Session {
  std::mutex mu;
  Connection* conn = nullptr;
  std::string id;
  std::string msisdn;
  std::uint32_t number = 0;  // CC-Request-Number of the next CCR
  std::uint64_t gen = 0;     // bumped per CCR: an answer for an older one is late
  bool in_flight = false;
  Clock::time_point sent_at;
  std::uint64_t usage_in_flight = 0;
};

LoadRun::LoadRun(const Options& opts) : opts_(opts) {
  require_loopback(opts_.host);
  for (int i = 0; i < opts_.connections; ++i) {
    dia::PeerConfig cfg;
    cfg.host = opts_.host;
    cfg.port = opts_.port;
    cfg.origin_host = opts_.origin_prefix + std::to_string(i + 1) + "." + opts_.origin_realm;
    cfg.origin_realm = opts_.origin_realm;
    cfg.auth_apps = {kCreditControlApp};
    conns_.push_back(std::make_unique<Connection>(std::move(cfg)));
  }
  for (int i = 0; i < opts_.sessions; ++i) {
    auto s = std::make_unique<Session>();
    s->conn = conns_[static_cast<std::size_t>(i) % conns_.size()].get();
    sessions_.push_back(std::move(s));
  }
}

LoadRun::~LoadRun() {
  for (auto& c : conns_) {
    try {
      c->peer.close();
    } catch (...) {
    }
  }
}

std::string LoadRun::next_msisdn() {
  const std::uint64_t seq = subscriber_seq_.fetch_add(1, std::memory_order_relaxed);
  return std::to_string(opts_.msisdn_base + pick_subscriber(opts_, seq));
}

void LoadRun::start_session(Session& s) {
  s.id = s.conn->peer.new_session_id();
  s.msisdn = next_msisdn();
  s.number = 0;
}

bool LoadRun::measured(Clock::time_point t0) const {
  return t0 >= warm_end_ && t0.time_since_epoch().count() < stop_at_.load(std::memory_order_relaxed);
}

Message LoadRun::build(const Session& s, CcrType type, std::uint64_t usage) const {
  namespace gy = dia::gy;
  Message m = gy::ccr(s.id, s.conn->peer.config().origin_host, opts_.origin_realm, static_cast<std::uint32_t>(type),
                      s.number, opts_.destination_realm);
  switch (type) {
    case CcrType::Initial:
      m.add(gy::subscription_id(0, s.msisdn));
      m.add(Avp::u32(code::MultipleServicesIndicator, kMultipleServicesSupported));
      m.add(gy::mscc(opts_.rating_group));
      break;
    case CcrType::Termination:
      m.add(Avp::u32(code::TerminationCause, kTerminationLogout));
      m.add(gy::mscc(opts_.rating_group, std::nullopt, {gy::octets(usage)}));
      break;
    default:
      m.add(gy::mscc(opts_.rating_group, gy::Units{}, {gy::octets(usage)}));
      break;
  }
  return m;
}

void LoadRun::send_next(Session& s) {
  Message m;
  std::uint64_t gen = 0;
  Clock::time_point t0;
  CcrType type = CcrType::Initial;
  std::uint64_t usage = 0;
  {
    std::lock_guard lock(s.mu);
    if (stopping_.load(std::memory_order_relaxed) || s.in_flight) return;
    // Claim a CCR of the --ccrs budget (unlimited: always granted).
    if (sent_.fetch_add(1, std::memory_order_relaxed) >= opts_.ccrs && opts_.ccrs > 0) {
      sent_.fetch_sub(1, std::memory_order_relaxed);
      stopping_ = true;
      return;
    }
    const auto updates = static_cast<std::uint32_t>(opts_.updates);
    type = s.number == 0 ? CcrType::Initial : (s.number <= updates ? CcrType::Update : CcrType::Termination);
    usage = type == CcrType::Initial ? 0 : opts_.usage_octets;
    m = build(s, type, usage);
    gen = ++s.gen;
    s.in_flight = true;
    s.usage_in_flight = usage;
    t0 = Clock::now();
    s.sent_at = t0;
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    if (measured(t0)) {
      std::lock_guard g(s.conn->mu);
      ++s.conn->stats.sent_measured;
    }
  }
  try {
    s.conn->peer.request_async(std::move(m), [this, &s, gen, t0, type, usage](std::optional<Message> a) {
      on_answer(s, gen, t0, type, usage, std::move(a));
    });
  } catch (const std::exception&) {
    std::lock_guard lock(s.mu);
    if (s.gen != gen || !s.in_flight) return;
    s.in_flight = false;
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    {
      std::lock_guard g(s.conn->mu);
      ++s.conn->stats.send_errors;
    }
    // The connection is gone: this session stops (the run reports it).
  }
}

void LoadRun::on_answer(Session& s, std::uint64_t gen, Clock::time_point t0, CcrType type, std::uint64_t usage,
                        std::optional<Message> answer) {
  const auto t1 = Clock::now();
  bool ok = false;
  {
    std::lock_guard lock(s.mu);
    Results& st = s.conn->stats;
    if (s.gen != gen || !s.in_flight) {
      if (answer) {
        std::lock_guard g(s.conn->mu);
        ++st.late_answers;
      }
      return;
    }
    s.in_flight = false;
    in_flight_.fetch_sub(1, std::memory_order_relaxed);

    std::optional<std::uint32_t> rc;
    std::optional<std::uint32_t> mscc_rc;
    if (answer) {
      try {
        rc = answer->result_code();
        for (const dia::Avp* mscc : answer->find_all(code::Mscc)) {
          std::optional<std::uint32_t> rg;
          std::optional<std::uint32_t> here;
          for (const Avp& child : mscc->children()) {
            if (child.code == code::RatingGroup && child.vendor == 0) rg = child.as_u32();
            if (child.code == code::ResultCode && child.vendor == 0) here = child.as_u32();
          }
          if (!rg || *rg == opts_.rating_group) mscc_rc = here;
        }
      } catch (const dia::DecodeError&) {
        rc.reset();
      }
    }
    ok = rc == kSuccess && mscc_charges(mscc_rc);

    {
      std::lock_guard g(s.conn->mu);
      const bool in_window = measured(t0);
      if (!answer) {
        ++st.closed;
        if (usage > 0) ++st.uncertain_reports;
      } else {
        ++st.answered_total;
        if (in_window) {
          ++st.answered_measured;
          const std::uint64_t us = micros(t1 - t0);
          st.latency.record(us);
          st.by_type[static_cast<std::size_t>(type) - 1].record(us);
          if (rc)
            ++st.result_codes[*rc];
          else
            ++st.missing_result_code;
          if (mscc_rc) ++st.mscc_result_codes[*mscc_rc];
        }
        if (ok && usage > 0) {
          ++st.charged_reports;
          st.charged_octets += usage;
          const std::uint64_t blocks = usage / opts_.block + (usage % opts_.block ? 1 : 0);
          st.expected_charge += static_cast<std::int64_t>(blocks) * opts_.price_per_block;
        }
      }
      if (ok && type == CcrType::Termination) ++st.sessions_completed;
      if (!ok) ++st.sessions_abandoned;
    }
    advance(s, ok, type);
  }
  after_idle(s);
}

void LoadRun::advance(Session& s, bool ok, CcrType type) {
  // A failed CCR ends the session as a PGW would (RFC 4006: a command-level
  // failure terminates it); a finished session makes room for a new one.
  if (!ok || type == CcrType::Termination)
    start_session(s);
  else
    ++s.number;
}

void LoadRun::after_idle(Session& s) {
  if (stopping_.load(std::memory_order_relaxed)) return;
  if (opts_.rate > 0) {
    std::lock_guard g(ready_mu_);
    ready_.push_back(&s);
  } else {
    send_next(s);
  }
}

void LoadRun::pacer() {
  const double rate = opts_.rate;
  std::uint64_t ticks = 0;
  while (!stopping_.load(std::memory_order_relaxed)) {
    const auto now = Clock::now();
    const double since = std::chrono::duration<double>(now - start_).count();
    const auto due = static_cast<std::uint64_t>(since * rate);
    while (ticks < due && !stopping_.load(std::memory_order_relaxed)) {
      ++ticks;
      Session* s = nullptr;
      {
        std::lock_guard g(ready_mu_);
        if (!ready_.empty()) {
          s = ready_.front();
          ready_.pop_front();
        }
      }
      if (s)
        send_next(*s);
      else if (measured(Clock::now()))
        ++missed_ticks_;
    }
    // Sleep until the next tick, at most 1 ms: ticks due together go out in
    // one burst, which keeps the pacer's own cost low at high rates.
    const double next_s = static_cast<double>(ticks + 1) / rate;
    const auto next = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(next_s));
    std::this_thread::sleep_until(std::min(next, Clock::now() + std::chrono::milliseconds(1)));
  }
}

void LoadRun::expire(Clock::time_point now, bool all) {
  const auto limit = std::chrono::milliseconds(opts_.timeout_ms);
  for (auto& sp : sessions_) {
    Session& s = *sp;
    bool restarted = false;
    {
      std::lock_guard lock(s.mu);
      if (!s.in_flight || (!all && now - s.sent_at < limit)) continue;
      ++s.gen;  // its answer, if it still comes, is late
      s.in_flight = false;
      in_flight_.fetch_sub(1, std::memory_order_relaxed);
      {
        std::lock_guard g(s.conn->mu);
        ++s.conn->stats.timeouts;
        ++s.conn->stats.sessions_abandoned;
        if (s.usage_in_flight > 0) ++s.conn->stats.uncertain_reports;
      }
      start_session(s);
      restarted = true;
    }
    if (restarted && !all) after_idle(s);
  }
}

Results LoadRun::run() {
  for (auto& c : conns_) c->peer.connect();

  start_ = Clock::now();
  warm_end_ = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opts_.warmup_s));
  const auto deadline =
      warm_end_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opts_.duration_s));

  for (auto& s : sessions_) {
    std::lock_guard lock(s->mu);
    start_session(*s);
  }
  std::thread pacer_thread;
  if (opts_.rate > 0) {
    {
      std::lock_guard g(ready_mu_);
      for (auto& s : sessions_) ready_.push_back(s.get());
    }
    pacer_thread = std::thread([this] { pacer(); });
  } else {
    for (auto& s : sessions_) send_next(*s);
  }

  auto last_sweep = start_;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto now = Clock::now();
    if (now >= deadline || stopping_.load() || (opts_.ccrs > 0 && sent_.load() >= opts_.ccrs)) break;
    if (now - last_sweep >= std::chrono::milliseconds(100)) {
      expire(now, false);
      last_sweep = now;
    }
  }
  const auto stop = Clock::now();
  stop_at_ = stop.time_since_epoch().count();
  stopping_ = true;
  if (pacer_thread.joinable()) pacer_thread.join();

  // Drain: wait for what is in flight, up to the timeout; the rest are timeouts.
  const auto drain_end = Clock::now() + std::chrono::milliseconds(opts_.timeout_ms);
  while (in_flight_.load() > 0 && Clock::now() < drain_end) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  expire(Clock::now(), true);
  for (auto& c : conns_) c->peer.close();

  Results r;
  const auto window_start = stop > warm_end_ ? warm_end_ : start_;
  r.window_s = std::chrono::duration<double>(stop - window_start).count();
  r.elapsed_s = std::chrono::duration<double>(Clock::now() - start_).count();
  r.sent_total = sent_.load();
  r.missed_ticks = missed_ticks_;
  for (auto& c : conns_) {
    std::lock_guard g(c->mu);
    const Results& s = c->stats;
    r.answered_total += s.answered_total;
    r.sent_measured += s.sent_measured;
    r.answered_measured += s.answered_measured;
    r.latency.merge(s.latency);
    for (std::size_t i = 0; i < r.by_type.size(); ++i) r.by_type[i].merge(s.by_type[i]);
    for (const auto& [k, v] : s.result_codes) r.result_codes[k] += v;
    for (const auto& [k, v] : s.mscc_result_codes) r.mscc_result_codes[k] += v;
    r.missing_result_code += s.missing_result_code;
    r.timeouts += s.timeouts;
    r.closed += s.closed;
    r.send_errors += s.send_errors;
    r.late_answers += s.late_answers;
    r.sessions_completed += s.sessions_completed;
    r.sessions_abandoned += s.sessions_abandoned;
    r.charged_reports += s.charged_reports;
    r.charged_octets += s.charged_octets;
    r.expected_charge += s.expected_charge;
    r.uncertain_reports += s.uncertain_reports;
  }
  return r;
}

}  // namespace ocs::bench

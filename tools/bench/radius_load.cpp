#include "radius_load.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include "load.hpp"
#include "ocs/radius/auth.hpp"

namespace ocs::bench::radius {

namespace rad = ocs::radius;

namespace {

constexpr std::uint8_t kClass = 25;
/// Acct-Session-Time advanced per report, seconds.
constexpr std::uint32_t kReportInterval = 60;

struct Times {
  Clock::time_point start;
  Clock::time_point warm_end;
  Clock::time_point stop;       // no new packets from here
  Clock::time_point drain_end;  // what is still unanswered then is a timeout
  bool measured(Clock::time_point t) const { return t >= warm_end && t < stop; }
};

std::uint32_t ipv4(const std::string& text, const char* option) {
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1)
    throw UsageError(std::string(option) + ": not an IPv4 address: '" + text + "'");
  return ntohl(a.s_addr);
}

sockaddr_in resolve(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res)
    throw UsageError("--host: no IPv4 address for '" + host + "'");
  sockaddr_in to{};
  std::memcpy(&to, res->ai_addr, sizeof to);
  ::freeaddrinfo(res);
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  return to;
}

struct Session {
  SessionIdentity who;
  bool big = false;
  std::uint32_t reports = 0;  // Interim-Updates answered so far
  PacketKind next = PacketKind::Access;
};

struct InFlight {
  bool active = false;
  Session* session = nullptr;
  PacketKind kind = PacketKind::Access;
  std::vector<std::uint8_t> wire;
  rad::Authenticator auth{};
  Clock::time_point first_sent;
  Clock::time_point due;
  int resends = 0;
  Totals totals;
};

}  // namespace

struct LoadRun::Socket {
  Socket(const Options& o, std::size_t i, std::size_t n, std::string id)
      : opts(o), index(i), count(n), run_id(std::move(id)) {}
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  void open();
  void run(const Times& t);
  void begin(Session& s);
  void send(Session& s, Clock::time_point now, const Times& t);
  void transmit(InFlight& f);
  void on_datagram(std::span<const std::uint8_t> bytes, Clock::time_point now, const Times& t);
  void expire(Clock::time_point now, const Times& t, bool all);

  const Options& opts;
  const std::size_t index;
  const std::size_t count;
  const std::string run_id;
  int fd = -1;
  sockaddr_in auth_to{};
  sockaddr_in acct_to{};
  std::uint32_t nas_ip = 0;
  IdAllocator ids;
  std::array<InFlight, 256> in_flight;
  std::vector<Session> sessions;
  std::uint64_t seq = 0;  // sessions begun on this socket
  Results stats;
};

void LoadRun::Socket::open() {
  auth_to = resolve(opts.host, opts.auth_port);
  acct_to = resolve(opts.host, opts.acct_port);
  nas_ip = ipv4(opts.nas_ip, "--nas-ip");
  fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  const int buf = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
    throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
}

void LoadRun::Socket::begin(Session& s) {
  // Sockets take turns through the users: socket k has users k, k + count, ...
  const std::uint64_t n = seq++ * count + index;
  const std::uint64_t user = pick_subscriber(opts, n);
  s.who.user_name = opts.user_prefix + std::to_string(user);
  s.who.password = opts.password_prefix + std::to_string(user);
  s.who.acct_session_id = run_id + "-" + std::to_string(index) + "-" + std::to_string(n);
  s.who.framed_ip = 0x0A000000U | static_cast<std::uint32_t>(n & 0xffffffU);  // 10.x.y.z
  s.who.nas_ip = nas_ip;
  s.who.classes.clear();
  s.big = opts.gigaword_every > 0 && n % opts.gigaword_every == 0;
  s.reports = 0;
  s.next = PacketKind::Access;
}

void LoadRun::Socket::transmit(InFlight& f) {
  const sockaddr_in& to = f.kind == PacketKind::Access ? auth_to : acct_to;
  if (::sendto(fd, f.wire.data(), f.wire.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0)
    ++stats.send_errors;  // the retransmission timer tries again
}

void LoadRun::Socket::send(Session& s, Clock::time_point now, const Times& t) {
  const auto id = ids.allocate();
  if (!id) throw std::logic_error("more sessions than identifiers on a socket");
  InFlight& f = in_flight[*id];
  f = InFlight{};
  f.session = &s;
  f.kind = s.next;
  std::optional<std::vector<std::uint8_t>> wire;
  const auto updates = static_cast<std::uint32_t>(opts.updates);
  switch (s.next) {
    case PacketKind::Access:
      if (RAND_bytes(f.auth.data(), static_cast<int>(f.auth.size())) != 1)
        throw std::runtime_error("RAND_bytes failed");
      wire = access_request(s.who, *id, f.auth, opts.secret);
      break;
    case PacketKind::Start:
      wire = accounting_request(s.who, *id, kStatusStart, {}, 0, opts.secret);
      break;
    case PacketKind::Interim:
      f.totals = totals_after(s.reports + 1, opts.usage_octets, s.big);
      wire = accounting_request(s.who, *id, kStatusInterim, f.totals, (s.reports + 1) * kReportInterval, opts.secret);
      break;
    case PacketKind::Stop:
      f.totals = totals_after(updates + 1, opts.usage_octets, s.big);
      wire = accounting_request(s.who, *id, kStatusStop, f.totals, (updates + 1) * kReportInterval, opts.secret);
      break;
  }
  if (!wire) throw std::runtime_error("cannot build a RADIUS packet (password longer than 128 octets?)");
  f.wire = std::move(*wire);
  if (f.kind != PacketKind::Access)
    std::copy_n(f.wire.begin() + 4, f.auth.size(), f.auth.begin());  // the computed Request Authenticator
  if (f.kind != PacketKind::Access && !s.who.classes.empty()) ++stats.classes_echoed;
  f.active = true;
  f.first_sent = now;
  f.due = now + std::chrono::milliseconds(opts.retransmit_ms);
  ++stats.packets_sent_total;
  if (t.measured(now)) ++stats.sent_measured[static_cast<std::size_t>(f.kind)];
  transmit(f);
}

void LoadRun::Socket::on_datagram(std::span<const std::uint8_t> bytes, Clock::time_point now, const Times& t) {
  const rad::DecodeResult d = rad::decode(bytes);
  if (!d.ok()) {
    ++stats.bad_answers;
    return;
  }
  InFlight& f = in_flight[d.packet.identifier];
  const bool access = f.kind == PacketKind::Access;
  const std::uint8_t c = d.packet.code;
  const bool expected = access ? (c == rad::code::AccessAccept || c == rad::code::AccessReject)
                               : c == rad::code::AccountingResponse;
  // An answer to a packet already timed out (its identifier may be in use
  // again) fails the authenticator check or finds nothing in flight.
  if (!f.active || !expected || rad::verify_response(bytes, f.auth, opts.secret) != rad::VerifyResult::Ok) {
    ++stats.bad_answers;
    return;
  }
  f.active = false;
  ids.release(d.packet.identifier);
  const auto k = static_cast<std::size_t>(f.kind);
  const bool in_window = t.measured(f.first_sent);
  if (in_window) {
    const std::uint64_t us = micros(now - f.first_sent);
    ++stats.answered_measured[k];
    stats.by_kind[k].record(us);
    stats.latency.record(us);
  }
  Session& s = *f.session;
  switch (f.kind) {
    case PacketKind::Access:
      if (c == rad::code::AccessAccept) {
        if (in_window) ++stats.accepts;
        for (const auto& a : d.packet.attributes)
          if (a.vendor == 0 && a.type == kClass) s.who.classes.push_back(a.value);
        s.next = PacketKind::Start;
      } else {
        if (in_window) {
          ++stats.rejects;
          ++stats.sessions_rejected;
        }
        begin(s);
      }
      break;
    case PacketKind::Start:
      s.next = opts.updates > 0 ? PacketKind::Interim : PacketKind::Stop;
      break;
    case PacketKind::Interim:
      ++s.reports;
      s.next = s.reports < static_cast<std::uint32_t>(opts.updates) ? PacketKind::Interim : PacketKind::Stop;
      break;
    case PacketKind::Stop:
      stats.accounted_octets += f.totals.sum();
      ++stats.accounted_sessions;
      if (in_window) {
        ++stats.sessions_completed;
        if (s.big) ++stats.big_sessions_completed;
      }
      begin(s);
      break;
  }
  if (now < t.stop) send(s, now, t);
}

void LoadRun::Socket::expire(Clock::time_point now, const Times& t, bool all) {
  for (std::size_t id = 0; id < in_flight.size(); ++id) {
    InFlight& f = in_flight[id];
    if (!f.active || (!all && now < f.due)) continue;
    if (!all && f.resends < opts.retries) {
      ++f.resends;
      ++stats.retransmissions;
      f.due = now + std::chrono::milliseconds(opts.retransmit_ms);
      transmit(f);
      continue;
    }
    f.active = false;
    ids.release(static_cast<std::uint8_t>(id));
    ++stats.timeouts;
    if (f.kind == PacketKind::Stop) ++stats.uncertain_stops;
    if (!all) {
      // The NAS gives up on this session; the next one starts.
      begin(*f.session);
      if (now < t.stop) send(*f.session, now, t);
    }
  }
}

void LoadRun::Socket::run(const Times& t) {
  for (Session& s : sessions) {
    begin(s);
    send(s, Clock::now(), t);
  }
  std::array<std::uint8_t, rad::kMaxPacketSize> buf{};
  for (;;) {
    auto now = Clock::now();
    if ((now >= t.stop && ids.in_use_count() == 0) || now >= t.drain_end) break;
    auto wake = std::min(now + std::chrono::milliseconds(20), now < t.stop ? t.stop : t.drain_end);
    for (const InFlight& f : in_flight)
      if (f.active) wake = std::min(wake, f.due);
    const auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count();
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(std::max<decltype(wait_ms)>(wait_ms, 0)));
    for (;;) {
      const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0) break;
      on_datagram(std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n)), Clock::now(), t);
    }
    expire(Clock::now(), t, false);
  }
  expire(Clock::now(), t, true);
}

LoadRun::LoadRun(const Options& opts) : opts_(opts) {
  require_loopback(opts_.host);
  // Acct-Session-Ids must not repeat from one run to the next against the
  // same database: they start with the time and the process id.
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const std::string run_id =
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count()) + "." + std::to_string(::getpid());
  const auto n = static_cast<std::size_t>(opts_.connections);
  for (std::size_t i = 0; i < n; ++i) {
    auto k = std::make_unique<Socket>(opts_, i, n, run_id);
    k->open();
    sockets_.push_back(std::move(k));
  }
  for (std::size_t i = 0; i < static_cast<std::size_t>(opts_.sessions); ++i) {
    Socket& k = *sockets_[i % n];
    k.sessions.emplace_back();
    k.sessions.back().who.nas_port = static_cast<std::uint32_t>(i);
  }
}

LoadRun::~LoadRun() = default;

Results LoadRun::run() {
  Times t;
  t.start = Clock::now();
  t.warm_end = t.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opts_.warmup_s));
  t.stop = t.warm_end + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opts_.duration_s));
  t.drain_end = t.stop + std::chrono::milliseconds(opts_.retransmit_ms) * (opts_.retries + 1);

  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> failures(sockets_.size());
  for (std::size_t i = 0; i < sockets_.size(); ++i) {
    threads.emplace_back([this, i, &t, &failures] {
      try {
        sockets_[i]->run(t);
      } catch (...) {
        failures[i] = std::current_exception();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& f : failures)
    if (f) std::rethrow_exception(f);

  Results r;
  r.window_s = std::chrono::duration<double>(t.stop - t.warm_end).count();
  r.elapsed_s = std::chrono::duration<double>(Clock::now() - t.start).count();
  for (const auto& k : sockets_) r.merge(k->stats);
  return r;
}

}  // namespace ocs::bench::radius

#include "peer.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <stdexcept>
#include <thread>

namespace ocs::dia {

Peer::Peer(PeerConfig cfg) : cfg_(std::move(cfg)) {
  ids_ = static_cast<std::uint32_t>(::getpid()) << 16;
}

Peer::~Peer() {
  try {
    close();
  } catch (...) {
  }
}

std::string Peer::new_session_id(const std::string& suffix) {
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  return cfg_.origin_host + ";" + std::to_string(now) + ";" + std::to_string(++sessions_) +
         (suffix.empty() ? "" : ";" + suffix);
}

void Peer::connect(std::chrono::milliseconds timeout) {
  if (fd_ >= 0) throw std::logic_error("Peer::connect: already connected");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(cfg_.host.c_str(), std::to_string(cfg_.port).c_str(), &hints, &res) != 0 || !res)
    throw std::runtime_error("cannot resolve " + cfg_.host);
  fd_ = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    const std::string err = std::strerror(errno);
    freeaddrinfo(res);
    throw std::runtime_error("socket: " + err);
  }
  const int rc = ::connect(fd_, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0) {
    const std::string err = std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("connect " + cfg_.host + ":" + std::to_string(cfg_.port) + ": " + err);
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  closing_ = false;
  reader_ = std::thread([this] { reader(); });

  Message cer;
  cer.flags = kFlagRequest;
  cer.code = code::CER;
  cer.add(Avp::str(code::OriginHost, cfg_.origin_host))
      .add(Avp::str(code::OriginRealm, cfg_.origin_realm))
      .add(Avp::ipv4(code::HostIpAddress, 0x7f000001))
      .add(Avp::u32(code::VendorId, 0))
      .add(Avp::str(code::ProductName, "ocs-test-client"));
  cer.avps.back().flags = 0;  // Product-Name has no M bit
  for (auto app : cfg_.auth_apps) cer.add(Avp::u32(code::AuthApplicationId, app));
  for (auto [vendor, app] : cfg_.vendor_apps) {
    cer.add(Avp::u32(code::SupportedVendorId, vendor));
    cer.add(Avp::grouped(code::VendorSpecificApplicationId,
                         {Avp::u32(code::VendorId, vendor), Avp::u32(code::AuthApplicationId, app)}));
  }
  auto cea = request(cer, timeout);
  if (!cea || cea->result_code() != 2001u) {
    // No capabilities, no DPR: drop the connection so that the reader thread
    // is joined and connect() may be called again.
    closing_ = true;
    close();
    if (!cea) throw std::runtime_error("no CEA from " + cfg_.host);
    throw std::runtime_error("CEA result " + std::to_string(cea->result_code().value_or(0)));
  }
  cea_ = std::move(*cea);
}

void Peer::connect_retrying(int attempts, std::chrono::milliseconds pause, std::chrono::milliseconds timeout) {
  for (int attempt = 1;; ++attempt) {
    try {
      connect(timeout);
      return;
    } catch (const std::runtime_error&) {
      if (attempt >= attempts) throw;
      std::this_thread::sleep_for(pause);
    }
  }
}

void Peer::close() {
  if (fd_ < 0) return;
  if (!closing_) {
    Message dpr;
    dpr.flags = kFlagRequest;
    dpr.code = code::DPR;
    dpr.add(Avp::str(code::OriginHost, cfg_.origin_host))
        .add(Avp::str(code::OriginRealm, cfg_.origin_realm))
        .add(Avp::u32(code::DisconnectCause, 0));
    try {
      (void)request(dpr, std::chrono::milliseconds(2000));
    } catch (...) {
    }
  }
  closing_ = true;
  ::shutdown(fd_, SHUT_RDWR);
  if (reader_.joinable()) reader_.join();
  ::close(fd_);
  fd_ = -1;
  fail_pending();
}

void Peer::write(const std::vector<std::uint8_t>& bytes) {
  std::lock_guard g(write_mu_);
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      throw std::runtime_error("send failed");
    }
    off += static_cast<std::size_t>(n);
  }
}

void Peer::send_raw(const std::vector<std::uint8_t>& bytes) { write(bytes); }

void Peer::request_async(Message m, AnswerCallback cb) {
  m.flags |= kFlagRequest;
  if (m.hop_by_hop == 0) m.hop_by_hop = next_id();
  if (m.end_to_end == 0) m.end_to_end = m.hop_by_hop;
  {
    std::lock_guard g(mu_);
    pending_[m.hop_by_hop] = std::move(cb);
  }
  try {
    write(encode(m));
  } catch (...) {
    std::lock_guard g(mu_);
    pending_.erase(m.hop_by_hop);
    throw;
  }
}

std::optional<Message> Peer::request(Message m, std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<std::optional<Message>>>();
  auto future = promise->get_future();
  m.hop_by_hop = m.hop_by_hop ? m.hop_by_hop : next_id();
  const auto hbh = m.hop_by_hop;
  request_async(std::move(m), [promise](std::optional<Message> a) { promise->set_value(std::move(a)); });
  if (future.wait_for(timeout) != std::future_status::ready) {
    std::lock_guard g(mu_);
    if (pending_.erase(hbh)) return std::nullopt;  // nobody will call back
  }
  return future.get();
}

void Peer::on_request(RequestHandler h) {
  std::lock_guard g(mu_);
  handler_ = std::move(h);
}

void Peer::forget_session(std::string session_id) {
  std::lock_guard g(mu_);
  forgotten_.insert(std::move(session_id));
}

std::vector<Message> Peer::received_requests() const {
  std::lock_guard g(mu_);
  return requests_;
}

bool Peer::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

void Peer::fail_pending() {
  std::map<std::uint32_t, AnswerCallback> pending;
  {
    std::lock_guard g(mu_);
    pending.swap(pending_);
  }
  for (auto& [id, cb] : pending) cb(std::nullopt);
}

void Peer::reader() {
  std::vector<std::uint8_t> buf;
  std::uint8_t chunk[65536];
  for (;;) {
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    buf.insert(buf.end(), chunk, chunk + n);
    while (buf.size() >= 4) {
      const std::uint32_t len = frame_length(buf.data());
      if (len < 20) {
        buf.clear();  // garbage: give up on this connection
        ::shutdown(fd_, SHUT_RDWR);
        break;
      }
      if (buf.size() < len) break;
      Message m;
      try {
        m = decode(buf.data(), len);
      } catch (const DecodeError&) {
        buf.erase(buf.begin(), buf.begin() + len);
        continue;
      }
      buf.erase(buf.begin(), buf.begin() + len);
      if (!m.is_request()) {
        AnswerCallback cb;
        {
          std::lock_guard g(mu_);
          auto it = pending_.find(m.hop_by_hop);
          if (it != pending_.end()) {
            cb = std::move(it->second);
            pending_.erase(it);
          }
        }
        if (cb) cb(std::move(m));
        continue;
      }
      // A request from the server: DWR and DPR are answered here.
      Message ans;
      if (m.code == code::DWR || m.code == code::DPR) {
        ans.code = m.code;
        ans.add(Avp::u32(code::ResultCode, 2001))
            .add(Avp::str(code::OriginHost, cfg_.origin_host))
            .add(Avp::str(code::OriginRealm, cfg_.origin_realm));
        if (m.code == code::DPR) closing_ = true;
        if (m.code == code::DWR) ++watchdogs_;
      } else {
        RequestHandler h;
        bool forgotten = false;
        {
          std::lock_guard g(mu_);
          requests_.push_back(m);
          h = handler_;
          const Avp* sid = m.find(code::SessionId);
          forgotten = sid && forgotten_.contains(sid->as_str());
        }
        cv_.notify_all();
        if (h) {
          ans = h(m);
        } else {
          ans.code = m.code;
          if (const Avp* sid = m.find(code::SessionId)) ans.add(*sid);
          ans.add(Avp::u32(code::ResultCode, forgotten ? 5002 : 2001))
              .add(Avp::str(code::OriginHost, cfg_.origin_host))
              .add(Avp::str(code::OriginRealm, cfg_.origin_realm));
          if (const Avp* app = m.find(code::AuthApplicationId)) ans.add(*app);
        }
      }
      ans.flags = static_cast<std::uint8_t>(m.flags & kFlagProxiable);
      ans.code = m.code;
      ans.app_id = m.app_id;
      ans.hop_by_hop = m.hop_by_hop;
      ans.end_to_end = m.end_to_end;
      try {
        write(encode(ans));
      } catch (...) {
        break;
      }
    }
  }
  fail_pending();
}

}  // namespace ocs::dia

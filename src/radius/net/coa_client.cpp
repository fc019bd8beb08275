#include "ocs/radius/coa_client.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "ocs/common/log.hpp"
#include "ocs/radius/auth.hpp"
#include "ocs/radius/coa.hpp"
#include "ocs/radius/identifiers.hpp"

namespace ocs::radius {

namespace {

using boost::asio::ip::udp;
using SteadyClock = std::chrono::steady_clock;
constexpr std::uint8_t kErrorCause = 101;

std::string endpoint_text(const udp::endpoint& e) {
  return e.address().to_string() + ":" + std::to_string(e.port());
}

std::chrono::milliseconds since(SteadyClock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0);
}

}  // namespace

std::string_view to_string(CoaOutcome o) {
  switch (o) {
    case CoaOutcome::Ack:
      return "ack";
    case CoaOutcome::Nak:
      return "nak";
    case CoaOutcome::Timeout:
      return "timeout";
    case CoaOutcome::Error:
      return "error";
  }
  return "?";
}

struct CoaClient::Impl : std::enable_shared_from_this<CoaClient::Impl> {
  struct Channel;
  struct Pending {
    CoaTarget target;
    Packet request;
    Callback done;
    std::vector<std::uint8_t> wire;
    Authenticator auth{};
    std::uint8_t id = 0;
    int attempts = 0;
    std::chrono::milliseconds interval{0};
    SteadyClock::time_point started;
    std::unique_ptr<boost::asio::steady_timer> timer;
    bool finished = false;
    Channel* channel = nullptr;  // the socket it goes out on
  };
  using PendingPtr = std::shared_ptr<Pending>;

  struct Nas {
    IdAllocator ids;
    std::map<std::uint8_t, PendingPtr> by_id;
    std::deque<PendingPtr> waiting;  // no free identifier yet
  };

  /// A socket of one address family, with its receive buffer.
  struct Channel {
    Channel(boost::asio::io_context& ctx, const udp::endpoint& local) : socket(ctx, local) {}
    udp::socket socket;
    std::array<std::uint8_t, kMaxPacketSize> buf{};
    udp::endpoint from;
  };

  Impl(boost::asio::io_context& ctx, CoaRetryPolicy p, const udp::endpoint& local)
      : io(ctx), first(std::make_unique<Channel>(ctx, local)), first_protocol(local.protocol()), policy(p),
        log(ocs::log::get("radius.coa")) {
    policy.max_attempts = std::max(policy.max_attempts, 1);
    policy.initial_timeout = std::max(policy.initial_timeout, std::chrono::milliseconds(1));
    policy.max_timeout = std::max(policy.max_timeout, policy.initial_timeout);
  }

  void start_receive(Channel& ch) {
    ch.socket.async_receive_from(boost::asio::buffer(ch.buf), ch.from,
                                 [self = shared_from_this(), &ch](const boost::system::error_code& ec, std::size_t n) {
                                   if (ec == boost::asio::error::operation_aborted || self->closed) return;
                                   if (!ec) self->on_datagram(ch, n);
                                   self->start_receive(ch);
                                 });
  }

  /// The socket that reaches `to`: the one bound at construction, or for the
  /// other address family (a NAS at an IPv6 address while the first is IPv4,
  /// or the reverse) one opened at the first request, on any address and a
  /// port the system picks. Throws boost::system::system_error.
  Channel& channel_for(const udp::endpoint& to) {
    if (to.protocol() == first_protocol) return *first;
    if (!second) {
      second = std::make_unique<Channel>(io, udp::endpoint(to.protocol(), 0));
      start_receive(*second);
    }
    return *second;
  }

  void submit(PendingPtr p) {
    try {
      p->channel = &channel_for(p->target.nas);
    } catch (const std::exception& e) {
      CoaResult r;
      r.error = "cannot open a socket for " + endpoint_text(p->target.nas) + ": " + e.what();
      complete(p, std::move(r));
      return;
    }
    Nas& nas = by_nas[p->target.nas];
    const auto id = nas.ids.allocate();
    if (!id) {
      nas.waiting.push_back(std::move(p));
      return;
    }
    p->id = *id;
    p->request.identifier = *id;
    p->request.authenticator = {};
    EncodeResult e = encode(p->request);
    if (!e.ok() || !finish_request(e.bytes, p->target.secret)) {
      nas.ids.release(*id);
      CoaResult r;
      r.error = e.ok() ? "cannot sign the request" : "cannot encode the request: " + std::string(to_string(*e.error));
      complete(p, std::move(r));
      return;
    }
    p->wire = std::move(e.bytes);
    std::copy_n(p->wire.begin() + 4, p->auth.size(), p->auth.begin());
    nas.by_id[*id] = p;
    p->interval = policy.initial_timeout;
    p->timer = std::make_unique<boost::asio::steady_timer>(io);
    transmit(p);
  }

  void transmit(const PendingPtr& p) {
    ++p->attempts;
    p->channel->socket.async_send_to(boost::asio::buffer(p->wire), p->target.nas,
                         [self = shared_from_this(), p](const boost::system::error_code& ec, std::size_t) {
                           // A send error is retried like a lost packet.
                           if (ec && ec != boost::asio::error::operation_aborted && !self->closed)
                             self->log->warn("coa_send_failed nas={} id={} error={}", endpoint_text(p->target.nas),
                                             p->id, ec.message());
                         });
    p->timer->expires_after(p->interval);
    p->timer->async_wait([self = shared_from_this(), p](const boost::system::error_code& ec) {
      if (ec || p->finished || self->closed) return;
      self->on_timeout(p);
    });
  }

  void on_timeout(const PendingPtr& p) {
    if (p->attempts < policy.max_attempts) {
      p->interval = std::min(p->interval * 2, policy.max_timeout);
      log->info("coa_retry nas={} code={} id={} attempt={} next_timeout_ms={}", endpoint_text(p->target.nas),
                p->request.code, p->id, p->attempts + 1, p->interval.count());
      transmit(p);
      return;
    }
    CoaResult r;
    r.outcome = CoaOutcome::Timeout;
    finish(p, std::move(r));
  }

  void on_datagram(const Channel& ch, std::size_t n) {
    const std::span<const std::uint8_t> bytes(ch.buf.data(), n);
    const udp::endpoint& from = ch.from;
    const DecodeResult d = decode(bytes);
    const auto nas_it = by_nas.find(from);
    if (!d.ok() || nas_it == by_nas.end()) {
      log->warn("coa_bad_answer from={} reason={}", endpoint_text(from),
                d.ok() ? "unknown NAS" : std::string(to_string(*d.error)));
      return;
    }
    const auto it = nas_it->second.by_id.find(d.packet.identifier);
    if (it == nas_it->second.by_id.end()) {
      log->warn("coa_bad_answer from={} id={} reason=no request in flight", endpoint_text(from), d.packet.identifier);
      return;
    }
    const PendingPtr p = it->second;
    const std::uint8_t ack = static_cast<std::uint8_t>(p->request.code + 1);
    const std::uint8_t nak = static_cast<std::uint8_t>(p->request.code + 2);
    if (d.packet.code != ack && d.packet.code != nak) {
      log->warn("coa_bad_answer from={} id={} reason=code {} does not answer {}", endpoint_text(from),
                d.packet.identifier, d.packet.code, p->request.code);
      return;
    }
    const VerifyResult v = verify_response(bytes, p->auth, p->target.secret);
    if (v != VerifyResult::Ok) {
      log->warn("coa_bad_answer from={} id={} reason={}", endpoint_text(from), d.packet.identifier, to_string(v));
      return;
    }
    CoaResult r;
    r.outcome = d.packet.code == ack ? CoaOutcome::Ack : CoaOutcome::Nak;
    r.error_cause = get_integer(d.packet, kErrorCause);
    r.answer = d.packet;
    finish(p, std::move(r));
  }

  /// Ends a request that holds an identifier, then lets a waiting one have it.
  void finish(const PendingPtr& p, CoaResult r) {
    p->timer->cancel();
    Nas& nas = by_nas[p->target.nas];
    nas.by_id.erase(p->id);
    nas.ids.release(p->id);
    complete(p, std::move(r));
    if (!nas.waiting.empty() && !closed) {
      PendingPtr next = std::move(nas.waiting.front());
      nas.waiting.pop_front();
      submit(std::move(next));
    }
  }

  void complete(const PendingPtr& p, CoaResult r) {
    p->finished = true;
    --pending;
    r.request_code = p->request.code;
    r.identifier = p->id;
    r.attempts = p->attempts;
    r.elapsed = since(p->started);
    const std::string nas = endpoint_text(p->target.nas);
    switch (r.outcome) {
      case CoaOutcome::Ack:
        log->info("coa_ack nas={} code={} id={} attempts={} ms={}", nas, r.request_code, r.identifier, r.attempts,
                  r.elapsed.count());
        break;
      case CoaOutcome::Nak:
        log->warn("coa_nak nas={} code={} id={} attempts={} ms={} error_cause={} ({})", nas, r.request_code,
                  r.identifier, r.attempts, r.elapsed.count(),
                  r.error_cause ? std::to_string(*r.error_cause) : std::string("none"),
                  r.error_cause ? error_cause_name(*r.error_cause) : std::string_view("-"));
        break;
      case CoaOutcome::Timeout:
        log->warn("coa_timeout nas={} code={} id={} attempts={} ms={}", nas, r.request_code, r.identifier,
                  r.attempts, r.elapsed.count());
        break;
      case CoaOutcome::Error:
        log->error("coa_error nas={} code={} error={}", nas, r.request_code, r.error);
        break;
    }
    if (!p->done) return;
    try {
      p->done(r);
    } catch (const std::exception& e) {
      log->error("coa_callback_failed nas={} error={}", nas, e.what());
    } catch (...) {
      log->error("coa_callback_failed nas={} error=unknown exception", nas);
    }
  }

  boost::asio::io_context& io;
  std::unique_ptr<Channel> first;   // bound to the constructor's `local`
  const udp first_protocol;         // its address family (no getsockname per request)
  std::unique_ptr<Channel> second;  // the other address family, when needed
  CoaRetryPolicy policy;
  std::shared_ptr<spdlog::logger> log;
  std::map<udp::endpoint, Nas> by_nas;
  std::atomic<std::size_t> pending{0};
  std::atomic<bool> closed{false};
};

CoaClient::CoaClient(boost::asio::io_context& io, CoaRetryPolicy policy, const boost::asio::ip::udp::endpoint& local)
    : impl_(std::make_shared<Impl>(io, policy, local)) {
  impl_->start_receive(*impl_->first);
}

CoaClient::~CoaClient() {
  impl_->closed = true;
  boost::system::error_code ec;
  impl_->first->socket.close(ec);
  if (impl_->second) impl_->second->socket.close(ec);
  for (auto& [nas, state] : impl_->by_nas)
    for (auto& [id, p] : state.by_id)
      if (p->timer) p->timer->cancel();
}

void CoaClient::send(CoaTarget target, Packet request, Callback done) {
  auto p = std::make_shared<Impl::Pending>();
  p->target = std::move(target);
  p->request = std::move(request);
  p->done = std::move(done);
  p->started = SteadyClock::now();
  ++impl_->pending;
  boost::asio::post(impl_->io, [impl = impl_, p]() mutable {
    if (impl->closed) return;
    if (p->request.code != code::CoaRequest && p->request.code != code::DisconnectRequest) {
      CoaResult r;
      r.error = "not a CoA-Request or Disconnect-Request: code " + std::to_string(p->request.code);
      impl->complete(p, std::move(r));
      return;
    }
    impl->submit(std::move(p));
  });
}

std::size_t CoaClient::pending() const { return impl_->pending.load(); }

boost::asio::ip::udp::endpoint CoaClient::local_endpoint() const { return impl_->first->socket.local_endpoint(); }

}  // namespace ocs::radius

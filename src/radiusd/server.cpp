#include "server.hpp"

#include <stdexcept>
#include <string>
#include <tuple>

#include "ocs/radius/auth.hpp"
#include "ocs/store/store.hpp"

namespace ocs::radiusd {

namespace {

std::string_view code_name(std::uint8_t c) {
  switch (c) {
    case radius::code::AccessRequest: return "Access-Request";
    case radius::code::AccountingRequest: return "Accounting-Request";
    case radius::code::StatusServer: return "Status-Server";
    default: return "other";
  }
}

/// The session a request belongs to: one session's requests run one at a
/// time and in order.
std::string session_key(const radius::Packet& p, const std::string& nas) {
  if (auto s = radius::get_string(p, radius::attr::AcctSessionId)) return nas + "/" + *s;
  if (auto u = radius::get_string(p, radius::attr::UserName)) return nas + "#" + *u;
  return nas;
}

}  // namespace

Server::Server(const config::RadiusConfig& config, Service& service, store::RadiusStore& store, Pipeline& pipeline,
               std::shared_ptr<spdlog::logger> log)
    : config_(config), service_(service), store_(store), pipeline_(pipeline), log_(std::move(log)), auth_(io_),
      acct_(io_), reload_timer_(io_) {
  const auto address = boost::asio::ip::make_address(config.listen);
  // No SO_REUSEADDR: on UDP it lets sockets share a port, so a second
  // daemon would silently get a share of the packets, and the two port-0
  // binds of a test could get one port. (The configuration refuses one
  // number for both ports.)
  for (auto [socket, port, name] : {std::tuple{&auth_, config.auth_port, "auth_port"},
                                    std::tuple{&acct_, config.acct_port, "acct_port"}}) {
    const udp::endpoint ep(address, port);
    socket->open(ep.protocol());
    boost::system::error_code ec;
    socket->bind(ep, ec);
    if (ec)
      throw std::runtime_error("cannot listen on " + config.listen + " UDP port " + std::to_string(port) + " (" +
                               name + "): " + ec.message());
  }
  set_nas(store_.nas_clients());
}

// The requests' coroutines use this server (its io_context, its service):
// none may still run on a runner once it is gone, even if run() never ended.
Server::~Server() { pipeline_.stop(); }

void Server::run() {
  receive(auth_, false);
  receive(acct_, true);
  schedule_nas_reload();
  log_->info("radius.started listen={} auth_port={} acct_port={} workers={} queue_limit={} runners={} nas_clients={}",
             config_.listen, auth_port(), acct_port(), config_.workers, config_.queue_limit, pipeline_.runners(),
             nas_.size());
  io_.run();
  // Let running requests finish; their replies are no longer sent.
  pipeline_.stop();
  log_->info("radius.stopped");
}

void Server::stop() {
  boost::asio::post(io_, [this] {
    boost::system::error_code ec;
    auth_.close(ec);
    acct_.close(ec);
    reload_timer_.cancel();
    io_.stop();
  });
}

void Server::set_nas(const std::vector<store::NasClient>& rows) {
  std::map<std::string, Nas> table;
  for (const auto& row : rows) {
    Nas n;
    n.name = row.name;
    n.address = row.address;
    n.secret = row.secret;
    n.vendor = radius::nas_vendor_from_string(row.vendor).value_or(radius::NasVendor::Generic);
    n.require_message_authenticator = row.require_message_authenticator.value_or(config_.require_message_authenticator);
    table[n.address] = std::move(n);
  }
  nas_ = std::move(table);
}

void Server::schedule_nas_reload() {
  reload_timer_.expires_after(std::chrono::seconds(config_.nas_reload_seconds));
  reload_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    if (nas_reload_running_) {
      log_->warn("radius.nas.reload_skipped reason=busy");
    } else {
      nas_reload_running_ = true;
      reload_nas();
    }
    schedule_nas_reload();
  });
}

Detached Server::reload_nas() {
  std::optional<std::vector<store::NasClient>> rows;
  try {
    co_await pipeline_.run([&] { rows = store_.nas_clients(); });
  } catch (const std::exception& e) {
    log_->warn("radius.nas.reload_failed error=\"{}\"", e.what());
  }
  boost::asio::post(io_, [this, rows = std::move(rows)] {
    nas_reload_running_ = false;
    if (!rows) return;
    set_nas(*rows);
    log_->debug("radius.nas.reloaded count={}", nas_.size());
  });
}

void Server::receive(udp::socket& socket, bool accounting) {
  auto& buffer = accounting ? buffer_acct_ : buffer_auth_;
  auto& from = accounting ? from_acct_ : from_auth_;
  socket.async_receive_from(boost::asio::buffer(buffer), from,
                            [this, &socket, accounting](const boost::system::error_code& ec, std::size_t n) {
                              if (ec == boost::asio::error::operation_aborted || !socket.is_open()) return;
                              if (!ec) {
                                try {
                                  on_datagram(socket, accounting, n);
                                } catch (const std::exception& e) {
                                  log_->error("radius.internal_error error=\"{}\"", e.what());
                                }
                              }
                              receive(socket, accounting);
                            });
}

void Server::on_datagram(udp::socket& socket, bool accounting, std::size_t size) {
  const auto& buffer = accounting ? buffer_acct_ : buffer_auth_;
  const udp::endpoint from = accounting ? from_acct_ : from_auth_;
  // With listen = "::" IPv4 NASes arrive as ::ffff:a.b.c.d; nas_clients
  // holds them as a.b.c.d.
  auto address = from.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  const std::string source = address.to_string();
  const std::span<const std::uint8_t> data(buffer.data(), std::min(size, radius::kMaxPacketSize));

  radius::DecodeResult decoded = radius::decode(data);
  if (!decoded.ok()) {
    log_->warn("radius.drop.malformed from={}:{} reason={} offset={} size={}", source, from.port(),
               radius::to_string(*decoded.error), decoded.offset, size);
    return;
  }
  radius::Packet& request = decoded.packet;
  const auto nas_it = nas_.find(source);
  if (nas_it == nas_.end()) {
    log_->warn("radius.drop.unknown_nas from={}:{} code={}", source, from.port(), request.code);
    return;
  }
  const Nas& nas = nas_it->second;
  const bool expected = request.code == radius::code::StatusServer ||
                        request.code == (accounting ? radius::code::AccountingRequest : radius::code::AccessRequest);
  if (!expected) {
    log_->warn("radius.drop.unexpected_code nas={} code={} port={}", nas.name, request.code,
               accounting ? "acct" : "auth");
    return;
  }
  // The header's Length bounds what the digests cover.
  const std::size_t length = (std::size_t{data[2]} << 8) | data[3];
  const auto wire = data.first(length);
  const bool require_ma = request.code == radius::code::StatusServer ||
                          (request.code == radius::code::AccessRequest && nas.require_message_authenticator);
  if (const auto v = radius::verify_request(wire, nas.secret, require_ma); v != radius::VerifyResult::Ok) {
    log_->info("radius.drop.unverified nas={} code={} reason={}", nas.name, code_name(request.code),
               radius::to_string(v));
    return;
  }
  if (request.code == radius::code::StatusServer) {
    answer_now(socket, from,
               radius::Packet{accounting ? radius::code::AccountingResponse : radius::code::AccessAccept,
                              request.identifier, request.authenticator, {}},
               request, nas);
    return;
  }

  CacheKey key{source, from.port(), request.identifier, request.authenticator};
  if (const auto it = cache_.find(key); it != cache_.end()) {
    if (it->second.done) {
      boost::system::error_code ec;
      socket.send_to(boost::asio::buffer(it->second.reply), from, 0, ec);
      log_->info("radius.duplicate.answered nas={} id={}", nas.name, request.identifier);
    } else {
      log_->info("radius.duplicate.in_progress nas={} id={}", nas.name, request.identifier);
    }
    return;
  }
  if (!reserve_cache_slot(key)) {
    log_->warn("radius.drop.cache_full nas={} entries={}", nas.name, cache_.size());
    return;
  }
  std::string session = session_key(request, nas.address);
  admit(Flow{std::move(request), nas, key, &socket, from, std::move(session)});
}

void Server::admit(Flow flow) {
  auto [it, free] = sessions_.try_emplace(flow.session);
  if (free && in_progress_ < config_.workers) {
    start(std::move(flow));
    return;
  }
  if (waiting_ >= config_.queue_limit) {
    log_->warn("radius.drop.busy nas={} in_progress={} waiting={}", flow.nas.name, in_progress_, waiting_);
    cache_.erase(flow.key);
    if (free) sessions_.erase(it);
    return;
  }
  ++waiting_;
  if (free) {
    ready_.push_back(std::move(flow));
  } else {
    it->second.push_back(std::move(flow));
  }
}

void Server::start(Flow flow) {
  ++in_progress_;
  serve(std::move(flow));
}

Detached Server::serve(Flow flow) {
  std::optional<std::vector<std::uint8_t>> wire_reply;
  try {
    std::optional<radius::Packet> reply = co_await service_.handle(flow.request, flow.nas);
    if (reply) {
      if (reply->code != radius::code::AccountingResponse) radius::add_message_authenticator(*reply);
      auto encoded = radius::encode(*reply);
      if (!encoded.ok()) {
        log_->error("radius.encode_failed nas={} error={}", flow.nas.name, radius::to_string(*encoded.error));
      } else if (radius::finish_response(encoded.bytes, flow.request.authenticator, flow.nas.secret)) {
        wire_reply = std::move(encoded.bytes);
      }
    }
  } catch (const store::StoreError& e) {
    log_->warn("radius.drop.store_error nas={} code={} error=\"{}\"", flow.nas.name, code_name(flow.request.code),
               e.what());
  } catch (const std::exception& e) {
    log_->error("radius.drop.internal_error nas={} error=\"{}\"", flow.nas.name, e.what());
  }
  boost::asio::post(io_, [this, key = flow.key, wire_reply = std::move(wire_reply), socket = flow.socket,
                          from = flow.from, session = std::move(flow.session)]() mutable {
    complete(key, std::move(wire_reply), *socket, from, session);
  });
}

void Server::answer_now(udp::socket& socket, const udp::endpoint& to, radius::Packet reply,
                        const radius::Packet& request, const Nas& nas) {
  // Status-Server answers carry Message-Authenticator (RFC 5997) on the
  // authentication port; an Accounting-Response's would be computed with
  // zeros in place (auth.hpp), which no client expects for Status-Server, so
  // there the Response Authenticator alone proves the secret.
  if (reply.code == radius::code::AccessAccept) radius::add_message_authenticator(reply);
  auto encoded = radius::encode(reply);
  if (!encoded.ok() || !radius::finish_response(encoded.bytes, request.authenticator, nas.secret)) return;
  boost::system::error_code ec;
  socket.send_to(boost::asio::buffer(encoded.bytes), to, 0, ec);
}

bool Server::reserve_cache_slot(const CacheKey& key) {
  const auto now = std::chrono::steady_clock::now();
  while (!answered_.empty() && (answered_.front().first <= now || cache_.size() >= config_.duplicate_cache_entries)) {
    cache_.erase(answered_.front().second);
    answered_.pop_front();
  }
  if (cache_.size() >= config_.duplicate_cache_entries) return false;  // all in progress
  cache_.emplace(key, CacheEntry{});
  return true;
}

void Server::complete(const CacheKey& key, std::optional<std::vector<std::uint8_t>> reply, udp::socket& socket,
                      const udp::endpoint& to, const std::string& session) {
  const auto it = cache_.find(key);
  if (!reply) {
    // Dropped (bad password for a hidden reason, database down...): a
    // retransmission is tried afresh.
    if (it != cache_.end()) cache_.erase(it);
  } else {
    if (socket.is_open()) {
      boost::system::error_code ec;
      socket.send_to(boost::asio::buffer(*reply), to, 0, ec);
      if (ec) log_->warn("radius.send_failed to={} error=\"{}\"", to.address().to_string(), ec.message());
    }
    if (it != cache_.end()) {
      it->second.done = true;
      it->second.reply = std::move(*reply);
      answered_.emplace_back(
          std::chrono::steady_clock::now() + std::chrono::seconds(config_.duplicate_cache_seconds), key);
    }
  }
  // The session's next request becomes ready; then the oldest ready ones
  // start.
  --in_progress_;
  if (const auto s = sessions_.find(session); s != sessions_.end()) {
    if (s->second.empty()) {
      sessions_.erase(s);
    } else {
      ready_.push_back(std::move(s->second.front()));
      s->second.pop_front();
    }
  }
  while (in_progress_ < config_.workers && !ready_.empty()) {
    Flow next = std::move(ready_.front());
    ready_.pop_front();
    --waiting_;
    start(std::move(next));
  }
}

}  // namespace ocs::radiusd

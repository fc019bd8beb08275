// A freeDiameterd with the stock dictionaries, dict_ocs.fdx and
// ocs_baseline.fdx, plus helpers that build Gy/Gx requests with the
// project's independent client codec.
#pragma once

#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "codec.hpp"
#include "fd_daemon.hpp"
#include "peer.hpp"

namespace ocs::test {

inline constexpr std::uint32_t kGyApp = 4;
inline constexpr std::uint32_t kGxApp = 16777238;
inline constexpr std::uint32_t k3gpp = dia::kVendor3gpp;

/// Options for a daemon running our dictionary and the baseline extension.
inline FdDaemonOptions baseline_daemon_options() {
  FdDaemonOptions o;
  o.executable = OCS_FREEDIAMETERD;
  o.extension_dir = OCS_FD_EXTENSION_DIR;
  o.extensions = FdDaemon::stock_dictionaries(OCS_FD_EXTENSION_DIR);
  o.extensions.push_back({OCS_DICT_OCS_FDX, {}});
  o.extensions.push_back({OCS_BASELINE_FDX, {}});
  o.app_threads = 2;
  return o;
}

/// A client that speaks Gy and Gx to the daemon.
inline dia::PeerConfig client_config(int port, const std::string& origin_host = "pgw.localdomain") {
  dia::PeerConfig c;
  c.host = "127.0.0.1";
  c.port = port;
  c.origin_host = origin_host;
  c.origin_realm = "localdomain";
  c.auth_apps = {kGyApp};
  c.vendor_apps = {{k3gpp, kGxApp}};
  return c;
}

/// A CCR with the AVPs of RFC 4006 3.1 in the usual order. For Gx, pass
/// kGxApp and no Service-Context-Id.
inline dia::Message make_ccr(dia::Peer& peer, const std::string& session_id, std::uint32_t type,
                             std::uint32_t number, std::uint32_t app = kGyApp,
                             std::optional<std::string> service_context = std::string("32251@3gpp.org")) {
  using dia::Avp;
  namespace code = dia::code;
  dia::Message m;
  m.flags = dia::kFlagRequest | dia::kFlagProxiable;
  m.code = code::CCR;
  m.app_id = app;
  m.add(Avp::str(code::SessionId, session_id))
      .add(Avp::str(code::OriginHost, peer.config().origin_host))
      .add(Avp::str(code::OriginRealm, peer.config().origin_realm))
      .add(Avp::str(code::DestinationRealm, "localdomain"))
      .add(Avp::u32(code::AuthApplicationId, app));
  if (service_context) m.add(Avp::str(code::ServiceContextId, *service_context));
  m.add(Avp::u32(code::CcRequestType, type)).add(Avp::u32(code::CcRequestNumber, number));
  return m;
}

class BaselineTest : public ::testing::Test {
 protected:
  void SetUp() override { daemon_ = std::make_unique<FdDaemon>(options()); }
  void TearDown() override {
    if (HasFailure() && daemon_) std::cerr << "--- freeDiameterd log tail ---\n" << daemon_->log_tail(60) << "\n";
  }
  virtual FdDaemonOptions options() { return baseline_daemon_options(); }

  FdDaemon& daemon() { return *daemon_; }
  std::unique_ptr<dia::Peer> connect(const std::string& origin_host = "pgw.localdomain") {
    auto peer = std::make_unique<dia::Peer>(client_config(daemon_->port(), origin_host));
    peer->connect();
    return peer;
  }

 private:
  std::unique_ptr<FdDaemon> daemon_;
};

}  // namespace ocs::test

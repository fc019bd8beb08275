// ocs-radiusd: the RADIUS authentication and accounting server.
//
//   ocs-radiusd --config FILE          serve until SIGTERM or SIGINT
//   ocs-radiusd --config FILE --check-config
//                                      validate the file and the dictionary, exit 0 (ok) or 2
//
// Start-up order (mirrored at shutdown): configuration, logging, database
// (schema version), dictionary, service, session supervision, sockets and
// NAS clients, CoA/Disconnect sender and account-event listener, signals.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include <utility>

#include <boost/asio/signal_set.hpp>

#include "ocs/common/clock.hpp"
#include "ocs/common/log.hpp"
#include "ocs/common/malloc_tuning.hpp"
#include "ocs/config/config.hpp"
#include "ocs/radius/coa_client.hpp"
#include "ocs/radius/dictionary.hpp"
#include "ocs/store/pg_admin.hpp"
#include "ocs/store/pg_pool.hpp"
#include "ocs/store/pg_radius.hpp"
#include "ocs/store/pg_store.hpp"
#include "ocs/store/supervisor.hpp"
#include "coa_notifier.hpp"
#include "pipeline.hpp"
#include "server.hpp"
#include "service.hpp"

namespace {

constexpr int kExitUsage = 2;

int usage() {
  std::cerr << "usage: ocs-radiusd --config FILE [--check-config]\n";
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--help" || arg == "-h") {
      usage();
      return 0;
    } else {
      return usage();
    }
  }
  if (config_path.empty()) return usage();

  ocs::config::Config config;
  ocs::radius::Dictionary dict;
  try {
    config = ocs::config::load(config_path);
    dict = ocs::radius::Dictionary::load(config.radius.dictionary);
  } catch (const std::exception& e) {
    std::cerr << "ocs-radiusd: " << e.what() << "\n";
    return kExitUsage;
  }
  if (check_only) {
    std::cout << "ocs-radiusd: " << config_path << " is valid\n";
    return 0;
  }

  try {
    ocs::log::init(config.log);
  } catch (const std::exception& e) {
    std::cerr << "ocs-radiusd: " << e.what() << "\n";
    return kExitUsage;
  }
  auto log = ocs::log::get("radius");
  // One line per request; written at once so that operators (and the
  // tests) see them as they happen.
  log->flush_on(spdlog::level::info);
  // Before the threads start: keep freed memory in the arenas
  // (include/ocs/common/malloc_tuning.hpp).
  const bool malloc_tuned = ocs::keep_freed_memory();
  try {
    const auto& db = config.database;
    ocs::store::ConnectionPool pool(db.dsn, db.pool_size, [](pqxx::connection& c) {
      ocs::store::PgChargingStore::prepare_statements(c);
      ocs::store::PgRadiusStore::prepare_statements(c);
    });
    {
      auto lease = pool.acquire(std::chrono::milliseconds(db.connect_timeout_ms));
      ocs::store::check_schema_version(*lease);
    }
    ocs::store::PgChargingStore charging(pool);
    ocs::store::PgRadiusStore radius_store(pool);
    // Group commit: the requests' charges share transactions, their user
    // lookups statements (batch_max per batch, batch_parallel of each kind
    // at once).
    ocs::radiusd::Pipeline pipeline(charging, radius_store, config.radius.batch_max, config.radius.batch_parallel);
    ocs::radiusd::Service service(
        config.radius, charging, radius_store, pipeline, dict, [] { return ocs::seconds_now(); }, log);
    ocs::store::PgAdminStore admin(pool);  // the supervisor's purge of old answers
    ocs::store::Supervisor supervisor(charging, std::chrono::milliseconds(config.radius.supervision_interval_ms), log,
                                      "radius", ocs::store::answer_retention(config.database, admin));
    ocs::radiusd::Server server(config.radius, service, radius_store, pipeline, log);
    // CoA/Disconnect: sends on the server's io_context; the notifier (its
    // own thread) stops before the client is destroyed.
    std::unique_ptr<ocs::radius::CoaClient> coa;
    std::unique_ptr<ocs::radiusd::CoaNotifier> notifier;
    if (config.radius.coa_enabled) {
      const auto& r = config.radius;
      coa = std::make_unique<ocs::radius::CoaClient>(
          server.io(), ocs::radius::CoaRetryPolicy{std::chrono::milliseconds(r.coa_timeout_ms),
                                                   std::chrono::milliseconds(r.coa_max_timeout_ms), r.coa_attempts});
      notifier = std::make_unique<ocs::radiusd::CoaNotifier>(r, db.dsn, service, charging, radius_store, *coa, log);
      service.set_on_exhausted([n = notifier.get()](const std::string& sid, std::int64_t subscriber,
                                                    const ocs::radius::CoaPolicy& policy) {
        n->exhausted(sid, subscriber, policy);
      });
      notifier->start();
      log->info("radius.coa.enabled timeout_ms={} max_timeout_ms={} attempts={} normal_filter_id=\"{}\"",
                r.coa_timeout_ms, r.coa_max_timeout_ms, r.coa_attempts, r.coa_normal_filter_id);
    }
    boost::asio::signal_set signals(server.io(), SIGTERM, SIGINT);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      log->info("radius.stopping signal={}", sig);
      server.stop();
    });
    log->info("radius.database database={} pool_size={} batch_max={} batch_parallel={} malloc={}",
              ocs::log::redact_dsn(db.dsn), db.pool_size, config.radius.batch_max, config.radius.batch_parallel,
              malloc_tuned ? "tuned" : "unchanged");
    server.run();
    const auto st = pipeline.stats();
    log->info("radius.group_commit batches={} requests={} largest={}", st.charges.batches, st.charges.requests,
              st.charges.largest);
    log->info("radius.user_lookups batches={} requests={} largest={}", st.lookups.batches, st.lookups.requests,
              st.lookups.largest);
    if (notifier) notifier->stop();
  } catch (const std::exception& e) {
    log->critical("radius.fatal error=\"{}\"", e.what());
    return 1;
  }
  return 0;
}

// ocs.fdx: the OCS inside Debian's stock freeDiameterd.
//
// Start-up order (mirrored at shutdown): read the TOML configuration named
// on the LoadExtension line, start logging, open the connection pool and
// check the schema version, resolve every dictionary object, start the
// worker threads, register the Gy CCR handler and advertise application 4,
// then Gx (application 16777238, see gx/front_end.hpp), then start the
// account-event listener (Gy RAR/ASR, Gx RAR) and session supervision.
//
//   LoadExtension = "/path/ocs.fdx" : "/path/ocs.toml";
//
// freeDiameter's dispatch threads only queue requests; the extension's own
// workers (gy.workers, default one per CPU core) run the transactions and
// send the answers, so a slow database never stalls dispatch. A worker takes
// up to gy.batch_max queued CCRs at once and charges them in one transaction
// (ChargingStore::charge_batch), answering each after its commit. A full queue
// is answered 3004 DIAMETER_TOO_BUSY at once.
#include <freeDiameter/extension.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "fdx_util.hpp"
#include "gy/handler.hpp"
#include "gy/reauth.hpp"
#include "gy/wire.hpp"
#include "gx/front_end.hpp"
#include "ocs/common/log.hpp"
#include "ocs/common/malloc_tuning.hpp"
#include "ocs/common/work_queue.hpp"
#include "ocs/config/config.hpp"
#include "ocs/store/pg_admin.hpp"
#include "ocs/store/pg_policy.hpp"
#include "ocs/store/pg_pool.hpp"
#include "ocs/store/pg_store.hpp"
#include "ocs/store/supervisor.hpp"
#include "tcp_nodelay.hpp"

namespace {

namespace fdx = ocs::fdx;
using ocs::WorkQueue;


struct Extension {
  ocs::config::Config config;
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<ocs::store::ConnectionPool> pool;
  std::unique_ptr<ocs::store::PgChargingStore> store;
  ocs::gy::Dict dict;
  std::unique_ptr<ocs::gy::Handler> handler;
  std::unique_ptr<WorkQueue<msg*>> queue;
  std::unique_ptr<ocs::gy::Reauthorizer> reauth;
  std::unique_ptr<ocs::gx::FrontEnd> gx;
  std::unique_ptr<ocs::store::PgAdminStore> admin;  // the supervisor's purge of old answers
  std::unique_ptr<ocs::store::Supervisor> supervisor;
  std::unique_ptr<ocs::fdx::ListenerNodelay> nodelay;
  disp_hdl* ccr_handle = nullptr;
};

Extension* g_ext = nullptr;

int on_ccr(msg** pmsg, avp* /*avp*/, session* /*sess*/, void* /*opaque*/, disp_action* /*act*/) noexcept {
  return fdx::guard_request(pmsg, "gy ccr", [&] {
    msg* request = *pmsg;
    *pmsg = nullptr;  // ours now: a worker answers it
    if (!g_ext->queue->try_push(request)) {
      g_ext->log->warn("gy: {} requests waiting; answering 3004 TOO_BUSY", g_ext->queue->depth());
      ocs::gy::answer_with(&request, ocs::gy::kTooBusy, g_ext->dict);
    }
  });
}

void start(Extension& ext, const char* conffile) {
  if (!conffile || !*conffile)
    throw std::runtime_error("no configuration: use LoadExtension = \"ocs.fdx\" : \"/path/ocs.toml\";");
  ext.config = ocs::config::load(conffile);
  ocs::log::init(ext.config.log);
  ext.log = ocs::log::get("gy");
  // For the whole freeDiameterd process: its threads and the extension's
  // allocate per message, and glibc's arena trimming was a third of its CPU
  // per CCR (docs/benchmarks.md, "glibc's arena trimming").
  const bool malloc_tuned = ocs::keep_freed_memory();
  const auto& db = ext.config.database;
  ext.pool = std::make_unique<ocs::store::ConnectionPool>(db.dsn, db.pool_size, [](pqxx::connection& c) {
    ocs::store::PgChargingStore::prepare_statements(c);
    ocs::store::PgPolicyStore::prepare_statements(c);
  });
  {
    auto lease = ext.pool->acquire(std::chrono::milliseconds(db.connect_timeout_ms));
    ocs::store::check_schema_version(*lease);
  }
  ext.store = std::make_unique<ocs::store::PgChargingStore>(*ext.pool);
  ext.dict = ocs::gy::Dict::resolve();
  ocs::gy::Options options;
  options.default_rating_group = ext.config.gy.default_rating_group;
  ext.handler = std::make_unique<ocs::gy::Handler>(ext.dict, *ext.store, options, ext.log);
  const std::size_t workers = ext.config.gy.worker_count(db.pool_size, std::thread::hardware_concurrency());
  ext.queue = std::make_unique<WorkQueue<msg*>>(
      workers, ext.config.gy.queue_limit, ext.config.gy.batch_max,
      [&ext](std::span<msg*> batch) { ext.handler->handle_batch(batch); },
      [&ext](msg*& m) { ocs::gy::answer_with(&m, ocs::gy::kTooBusy, ext.dict); });

  disp_when when{};
  when.app = ext.dict.app;
  when.command = ext.dict.ccr;
  fdx::fd_check(fd_disp_register(on_ccr, DISP_HOW_CC, &when, nullptr, &ext.ccr_handle), "fd_disp_register");
  fdx::fd_check(fd_disp_app_support(ext.dict.app, nullptr, 1, 0), "fd_disp_app_support");

  ext.reauth = std::make_unique<ocs::gy::Reauthorizer>(ext.config.gy, db.dsn, ext.dict, *ext.store, ext.log);
  if (ext.config.gx.enabled)
    ext.gx = std::make_unique<ocs::gx::FrontEnd>(ext.config, *ext.pool, *ext.store, *ext.reauth);
  ext.reauth->start();
  ext.admin = std::make_unique<ocs::store::PgAdminStore>(*ext.pool);
  ext.supervisor = std::make_unique<ocs::store::Supervisor>(
      *ext.store, std::chrono::milliseconds(ext.config.gy.supervision_interval_ms), ext.log, "gy",
      ocs::store::answer_retention(db, *ext.admin));
  // freeDiameter creates its listening sockets after loading the
  // extensions: a thread of its own waits for them.
  if (ext.config.gy.tcp_nodelay) {
    std::vector<std::uint16_t> ports{fd_g_config->cnf_port, fd_g_config->cnf_port_tls, fd_g_config->cnf_port_3436};
    ext.nodelay = std::make_unique<ocs::fdx::ListenerNodelay>(std::move(ports), ext.log);
  }
  ext.log->info(
      "ocs.fdx ready: Gy (application 4), {} workers, batches of up to {}, queue limit {}, database {}, malloc {}",
      workers, ext.config.gy.batch_max, ext.config.gy.queue_limit, ocs::log::redact_dsn(db.dsn),
      malloc_tuned ? "tuned" : "unchanged");
}

void stop(Extension& ext) noexcept {
  ext.nodelay.reset();
  if (ext.ccr_handle) (void)fd_disp_unregister(&ext.ccr_handle, nullptr);
  ext.supervisor.reset();
  ext.admin.reset();
  if (ext.reauth) ext.reauth->stop();
  ext.gx.reset();
  if (ext.queue) ext.queue->stop();
  ext.reauth.reset();
  ext.queue.reset();
  ext.handler.reset();
  ext.store.reset();
  ext.pool.reset();
}

}  // namespace

extern "C" {
OCS_FDX_EXPORT const char* fd_ext_depends[] = {"ocs", "dict_ocs", nullptr};

OCS_FDX_EXPORT int fd_ext_init(int major, int minor, char* conffile) {
  if (!ocs::fdx::version_matches("ocs.fdx", major, minor)) return EINVAL;
  try {
    g_ext = new Extension();
    start(*g_ext, conffile);
    return 0;
  } catch (const std::exception& e) {
    fd_log(FD_LOG_ERROR, "ocs.fdx cannot start: %s", e.what());
  } catch (...) {
    fd_log(FD_LOG_ERROR, "ocs.fdx cannot start");
  }
  if (g_ext) {
    stop(*g_ext);
    delete g_ext;
    g_ext = nullptr;
  }
  return EINVAL;
}

OCS_FDX_EXPORT void fd_ext_fini(void) {
  if (!g_ext) return;
  stop(*g_ext);
  delete g_ext;
  g_ext = nullptr;
}
}

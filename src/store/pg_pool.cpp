#include "ocs/store/pg_pool.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "ocs/store/store.hpp"

namespace ocs::store {

ConnectionPool::ConnectionPool(std::string dsn, std::size_t size, Preparer prepare)
    : dsn_(std::move(dsn)), size_(std::max<std::size_t>(size, 1)), prepare_(std::move(prepare)) {}

ConnectionPool::~ConnectionPool() = default;

ConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), conn_(std::move(other.conn_)), discard_(other.discard_) {
  other.pool_ = nullptr;
}

ConnectionPool::Lease::~Lease() {
  if (pool_ && conn_) pool_->give_back(std::move(conn_), discard_);
}

ConnectionPool::Lease ConnectionPool::acquire(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, wait, [&] { return !idle_.empty() || open_ < size_; })) {
    throw StoreError(StoreError::Kind::Unavailable,
                     "no database connection free within " + std::to_string(wait.count()) + " ms");
  }
  if (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(c));
  }
  ++open_;  // reserve the slot, connect without holding the lock
  lock.unlock();
  try {
    auto c = std::make_unique<pqxx::connection>(dsn_);
    {
      // A charging transaction waits for its account's row lock; one stuck
      // holder must not stall every request of that subscriber for ever.
      pqxx::nontransaction n(*c);
      n.exec("SET lock_timeout = '" + std::to_string(kLockTimeoutMs) + "ms'");
      n.exec("SET idle_in_transaction_session_timeout = '30s'");
    }
    if (prepare_) prepare_(*c);
    return Lease(this, std::move(c));
  } catch (const std::exception& e) {
    {
      std::lock_guard g(mu_);
      --open_;
    }
    cv_.notify_one();
    throw StoreError(StoreError::Kind::Unavailable, std::string("database unreachable: ") + e.what());
  }
}

void ConnectionPool::give_back(std::unique_ptr<pqxx::connection> c, bool discard) {
  {
    std::lock_guard g(mu_);
    if (discard || !c->is_open()) {
      --open_;
    } else {
      idle_.push_back(std::move(c));
    }
  }
  cv_.notify_one();
}

void run_transaction(ConnectionPool& pool, const std::function<void(pqxx::connection&)>& fn,
                     int attempts) {
  for (int attempt = 1;; ++attempt) {
    auto lease = pool.acquire();
    try {
      fn(*lease);
      return;
    } catch (const pqxx::in_doubt_error& e) {
      lease.discard();
      throw StoreError(StoreError::Kind::Unknown,
                       std::string("database connection lost during commit; outcome unknown: ") + e.what());
    } catch (const pqxx::broken_connection& e) {
      lease.discard();
      if (attempt >= attempts)
        throw StoreError(StoreError::Kind::Unavailable, std::string("database connection lost: ") + e.what());
    } catch (const pqxx::transaction_rollback& e) {
      // serialization_failure, deadlock_detected: safe to run again.
      if (attempt >= attempts)
        throw StoreError(StoreError::Kind::Unavailable,
                         std::string("transaction kept conflicting: ") + e.what());
    } catch (const pqxx::unique_violation& e) {
      throw StoreError(StoreError::Kind::Duplicate, e.what());
    } catch (const pqxx::check_violation& e) {
      throw StoreError(StoreError::Kind::Invalid, e.what());
    } catch (const pqxx::data_exception& e) {
      throw StoreError(StoreError::Kind::Invalid, e.what());
    } catch (const pqxx::integrity_constraint_violation& e) {
      throw StoreError(StoreError::Kind::Invalid, e.what());
    } catch (const pqxx::sql_error& e) {
      // 55P03 lock_not_available (lock_timeout), 57014 query_canceled
      // (statement_timeout), class 08 and 53 (connection, resources).
      const std::string state = e.sqlstate();
      if (state == "55P03" || state == "57014" || state.rfind("08", 0) == 0 || state.rfind("53", 0) == 0)
        throw StoreError(StoreError::Kind::Unavailable, e.what());
      throw StoreError(StoreError::Kind::Internal, e.what());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2 * attempt));
  }
}

int schema_version(pqxx::connection& c) {
  pqxx::nontransaction n(c);
  auto exists = n.exec("SELECT to_regclass('schema_version') IS NOT NULL");
  if (!exists[0][0].as<bool>()) return 0;
  auto r = n.exec("SELECT coalesce(max(version), 0) FROM schema_version");
  return r[0][0].as<int>();
}

void check_schema_version(pqxx::connection& c) {
  int v = schema_version(c);
  if (v != kSchemaVersion) {
    throw StoreError(StoreError::Kind::Schema,
                     "database schema is version " + std::to_string(v) + ", this build needs " +
                         std::to_string(kSchemaVersion) + " (run scripts/migrate or 'ocsctl db migrate')");
  }
}

int apply_migrations(pqxx::connection& c, const std::string& migrations_dir, int up_to) {
  namespace fs = std::filesystem;
  std::vector<std::pair<int, fs::path>> files;
  for (const auto& entry : fs::directory_iterator(migrations_dir)) {
    const auto name = entry.path().filename().string();
    if (entry.path().extension() != ".sql" || name.size() < 5) continue;
    int number = 0;
    try {
      number = std::stoi(name.substr(0, 4));
    } catch (const std::exception&) {
      continue;
    }
    files.emplace_back(number, entry.path());
  }
  std::sort(files.begin(), files.end());
  int current = schema_version(c);
  for (const auto& [number, path] : files) {
    if (number <= current || number > up_to) continue;
    std::ifstream in(path);
    if (!in) throw StoreError(StoreError::Kind::Schema, "cannot read " + path.string());
    std::stringstream sql;
    sql << in.rdbuf();
    pqxx::work w(c);
    w.exec(sql.str());
    w.commit();
    current = schema_version(c);
    if (current != number)
      throw StoreError(StoreError::Kind::Schema,
                       path.string() + " did not record schema version " + std::to_string(number));
  }
  return current;
}

}  // namespace ocs::store

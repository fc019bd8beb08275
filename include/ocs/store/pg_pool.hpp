// A fixed-size pool of PostgreSQL connections with prepared statements, and
// the retry rule every transaction goes through.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <pqxx/pqxx>

namespace ocs::store {

class ConnectionPool {
 public:
  /// How long a transaction waits for a row lock before giving up
  /// (StoreError Unavailable: the front-end answers promptly).
  static constexpr int kLockTimeoutMs = 2000;

  /// Called on every new connection: prepare statements there.
  using Preparer = std::function<void(pqxx::connection&)>;

  ConnectionPool(std::string dsn, std::size_t size, Preparer prepare = {});
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  ~ConnectionPool();

  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    pqxx::connection& operator*() { return *conn_; }
    pqxx::connection* operator->() { return conn_.get(); }
    /// The connection is broken: close it instead of returning it.
    void discard() { discard_ = true; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, std::unique_ptr<pqxx::connection> c) : pool_(pool), conn_(std::move(c)) {}
    ConnectionPool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
    bool discard_ = false;
  };

  /// A connection, opening one if the pool is not full. Throws
  /// StoreError(Unavailable) when none frees up within `wait` or the
  /// database cannot be reached.
  Lease acquire(std::chrono::milliseconds wait = std::chrono::milliseconds(5000));

  const std::string& dsn() const { return dsn_; }
  std::size_t size() const { return size_; }

 private:
  void give_back(std::unique_ptr<pqxx::connection> c, bool discard);

  std::string dsn_;
  std::size_t size_;
  Preparer prepare_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  std::size_t open_ = 0;
};

/// Runs `fn(pqxx::connection&)` on a pooled connection, retrying on
/// serialization failures, deadlocks and connections broken before commit
/// (at most `attempts` times). A commit whose outcome is unknown
/// (pqxx::in_doubt_error) is never retried here: it becomes
/// StoreError(Unknown), and only callers whose writes carry an idempotency
/// key may try again. Other database errors become StoreError.
void run_transaction(ConnectionPool& pool, const std::function<void(pqxx::connection&)>& fn,
                     int attempts = 5);

/// Applies every sql/migrations/NNNN_*.sql newer than the database's schema
/// version and not newer than `up_to`, each in its own transaction. Returns
/// the resulting version.
int apply_migrations(pqxx::connection& c, const std::string& migrations_dir,
                     int up_to = std::numeric_limits<int>::max());

/// The database's schema version, 0 when the schema is absent.
int schema_version(pqxx::connection& c);

/// Throws StoreError(Schema) unless the database is at kSchemaVersion.
void check_schema_version(pqxx::connection& c);

}  // namespace ocs::store

#include "pg_test_db.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include <pqxx/pqxx>

#include "ocs/store/pg_pool.hpp"

namespace ocs::test {

std::string admin_dsn() {
  const char* dsn = std::getenv("OCS_TEST_DSN");
  if (!dsn || !*dsn)
    throw std::runtime_error("OCS_TEST_DSN is not set: run the tests through scripts/test, "
                             "which starts a throwaway PostgreSQL cluster");
  return dsn;
}

namespace {
std::atomic<int> counter{0};
constexpr const char* kOwner = "ocs_test_owner";

std::string with_dbname(const std::string& dsn, const std::string& db) {
  // Keyword/value DSNs only ("host=... port=... dbname=..."): later keywords win.
  return dsn + " dbname=" + db;
}
}  // namespace

TestDatabase::TestDatabase() : admin_dsn_(admin_dsn()) {
  create();
  migrate();
}

TestDatabase::TestDatabase(int version) : admin_dsn_(admin_dsn()) {
  create();
  pqxx::connection c(dsn_);
  const int reached = store::apply_migrations(c, std::string(OCS_SQL_DIR) + "/migrations", version);
  if (reached != version) throw std::runtime_error("migrated to " + std::to_string(reached));
}

void TestDatabase::create() {
  name_ = "ocs_t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  {
    pqxx::connection c(admin_dsn_);
    pqxx::nontransaction n(c);
    n.exec("DROP DATABASE IF EXISTS " + n.quote_name(name_));
    // Owned by a role without superuser rights, as an operator's database
    // is (scripts/demo: role ocs), and every connection of the test,
    // migrations included, uses that role: a migration that only a
    // superuser could apply fails here. Test processes create the role
    // concurrently, hence the exceptions.
    n.exec("DO $$ BEGIN CREATE ROLE " + std::string(kOwner) +
           " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; "
           "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$");
    n.exec("CREATE DATABASE " + n.quote_name(name_) + " OWNER " + kOwner);
  }
  dsn_ = with_dbname(admin_dsn_, name_) + " user=" + kOwner;
}

void TestDatabase::migrate() const {
  pqxx::connection c(dsn_);
  store::apply_migrations(c, std::string(OCS_SQL_DIR) + "/migrations");
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection c(admin_dsn_);
    pqxx::nontransaction n(c);
    n.exec("DROP DATABASE IF EXISTS " + n.quote_name(name_) + " WITH (FORCE)");
  } catch (...) {
    // Leave it: the whole cluster is thrown away after the run.
  }
}

void TestDatabase::exec(const std::string& sql) const {
  pqxx::connection c(dsn_);
  pqxx::work w(c);
  w.exec(sql);
  w.commit();
}

std::optional<std::string> TestDatabase::query_value(const std::string& sql) const {
  pqxx::connection c(dsn_);
  pqxx::nontransaction n(c);
  const auto rows = n.exec(sql);
  if (rows.empty() || rows[0][0].is_null()) return std::nullopt;
  return rows[0][0].as<std::string>();
}

long TestDatabase::query_long(const std::string& sql) const {
  const auto v = query_value(sql);
  if (!v) throw std::runtime_error("query_long: no value for " + sql);
  return std::stol(*v);
}

}  // namespace ocs::test

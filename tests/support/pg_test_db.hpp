// A throwaway database per test fixture, created in the cluster that
// OCS_TEST_DSN points at (scripts/test starts one) and migrated to the
// current schema. It belongs to the role ocs_test_owner, which is no
// superuser; dsn() connects as that role.
#pragma once

#include <optional>
#include <string>

namespace ocs::test {

class TestDatabase {
 public:
  /// Creates and migrates a fresh database. Fails the test (throws) when
  /// OCS_TEST_DSN is unset: store tests never silently skip.
  TestDatabase();
  /// Creates a fresh database migrated only up to `version`, for a test of
  /// what a later migration does to the rows an older schema wrote.
  explicit TestDatabase(int version);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  /// Connection string of the fresh database.
  const std::string& dsn() const { return dsn_; }
  const std::string& name() const { return name_; }

  /// Applies the migrations not applied yet (all of them, to the current
  /// schema).
  void migrate() const;

  /// Runs SQL (several statements allowed) in the fresh database.
  void exec(const std::string& sql) const;
  /// The first column of the first row, as text; nothing for no row or NULL.
  std::optional<std::string> query_value(const std::string& sql) const;
  /// The same as an integer; throws when there is none.
  long query_long(const std::string& sql) const;

 private:
  void create();

  std::string admin_dsn_;
  std::string name_;
  std::string dsn_;
};

/// The admin DSN from OCS_TEST_DSN, or throws with a hint to use scripts/test.
std::string admin_dsn();

}  // namespace ocs::test

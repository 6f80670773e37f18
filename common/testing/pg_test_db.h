#pragma once
// A PostgreSQL database of its own for each test that needs one (*_pgtest.cc).
//
//   class RunStorePgTest : public mlops::PgTest {};
//   TEST_F(RunStorePgTest, CreatesRun) {
//     std::unique_ptr<PgPool> pool = MakePool();  // on this test's database
//     ...
//   }
//
// The cluster comes from MLOPS_TEST_PG_DSN (scripts/with-pg.sh sets it); when
// it is unset, PgTest::SetUp() calls GTEST_SKIP(). Each test gets a fresh,
// empty database named after the test plus a random suffix, dropped (WITH
// FORCE) when the test ends; tests may therefore run in parallel processes.
// Subclasses that override SetUp() must call PgTest::SetUp() first and return
// if IsSkipped() or HasFatalFailure().

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/db/pg_pool.h"
#include "gtest/gtest.h"

namespace mlops {

// Environment of pg tests: MLOPS_TEST_PG_DSN (the cluster's admin DSN) and
// MLOPS_TEST_PG_DIR (its folder for `scripts/pg.sh restart`); nullopt if unset.
std::optional<std::string> TestPgDsnFromEnv();
std::optional<std::string> TestPgDirFromEnv();

// Owns one freshly created database; drops it on destruction. Not thread-safe.
class PgTestDatabase {
 public:
  // Creates database `<prefix>_<12 random hex>` (prefix sanitized to
  // [a-z0-9_], cut to fit 63 characters) through `admin_dsn`.
  static absl::StatusOr<std::unique_ptr<PgTestDatabase>> Create(const std::string& admin_dsn,
                                                                const std::string& prefix);
  ~PgTestDatabase();
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  const std::string& name() const { return name_; }
  // key=value conninfo of the new database (the admin DSN with dbname replaced).
  const std::string& dsn() const { return dsn_; }

 private:
  PgTestDatabase(std::string admin_dsn, std::string name, std::string dsn);
  std::string admin_dsn_;
  std::string name_;
  std::string dsn_;
};

// The one bigint that `sql` returns (a count, say) through `pool`;
// aborts the test binary on an error (a broken test query).
int64_t QueryInt64(PgPool& pool, const std::string& sql);

// gtest fixture: a fresh database per test (see the top of this file).
class PgTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  const std::string& dsn() const { return db_->dsn(); }
  const std::string& database_name() const { return db_->name(); }

  // A pool on this test's database; `options.dsn` is filled in.
  // The pool must be destroyed before the test ends (keep it in the test body
  // or in a member of the subclass).
  std::unique_ptr<PgPool> MakePool(PgPoolOptions options = {});

 private:
  std::unique_ptr<PgTestDatabase> db_;
};

}  // namespace mlops

// The migration runner against a real PostgreSQL (label pg).
#include "common/db/migrations.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/testing/pg_test_db.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops_migrations/db_testdata_migrations.h"

namespace mlops {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class MigrationsPgTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    pool_ = MakePool();
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override {
    pool_.reset();
    PgTest::TearDown();
  }

  // Runs one query returning one value.
  template <class T>
  T Query(const std::string& sql) {
    absl::StatusOr<T> v = pool_->WithTransaction(
        [&](pqxx::transaction_base& tx) { return tx.exec(sql)[0][0].as<T>(); });
    EXPECT_THAT(v, IsOk()) << sql;
    return v.ok() ? *v : T{};
  }
  bool TableExists(const std::string& qualified) {
    return Query<bool>("SELECT to_regclass('" + qualified + "') IS NOT NULL");
  }
  std::vector<int> AppliedVersions(const std::string& schema) {
    std::vector<int> out;
    EXPECT_THAT(pool_->WithTransaction([&](pqxx::transaction_base& tx) {
      for (const auto& row :
           tx.exec("SELECT version FROM " + schema + ".schema_migrations ORDER BY version")) {
        out.push_back(row[0].as<int>());
      }
    }),
                IsOk());
    return out;
  }

  std::unique_ptr<PgPool> pool_;
};

TEST_F(MigrationsPgTest, AppliesOnceAndASecondRunIsANoOp) {
  absl::StatusOr<MigrationReport> first =
      RunMigrations(*pool_, "db_testdata", db_testdata::EmbeddedMigrations());
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(first->applied, ElementsAre(1, 2));
  EXPECT_EQ(first->latest_version, 2);
  // Unqualified SQL landed in the schema, not in public.
  EXPECT_TRUE(TableExists("db_testdata.items"));
  EXPECT_TRUE(TableExists("db_testdata.events"));
  EXPECT_FALSE(TableExists("public.items"));
  EXPECT_EQ(Query<std::string>("SELECT checksum FROM db_testdata.schema_migrations "
                               "WHERE version = 1"),
            MigrationChecksum(db_testdata::EmbeddedMigrations()[0].sql));
  EXPECT_EQ(Query<std::string>("SELECT name FROM db_testdata.schema_migrations "
                               "WHERE version = 2"),
            "0002_add_events.sql");

  absl::StatusOr<MigrationReport> second =
      RunMigrations(*pool_, "db_testdata", db_testdata::EmbeddedMigrations());
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(second->applied, IsEmpty());
  EXPECT_EQ(second->latest_version, 2);
  EXPECT_THAT(AppliedVersions("db_testdata"), ElementsAre(1, 2));
}

TEST_F(MigrationsPgTest, FourConcurrentRunnersApplyEachMigrationExactlyOnce) {
  // Not idempotent on purpose: applying one twice fails (CREATE TABLE) or
  // shows up twice in applied_log.
  std::vector<Migration> migrations = {
      {1, "0001_log.sql", "CREATE TABLE applied_log (version int NOT NULL);"
                          "INSERT INTO applied_log VALUES (1);"},
      {2, "0002_slow.sql", "SELECT pg_sleep(0.2); CREATE TABLE a (x int);"
                           "INSERT INTO applied_log VALUES (2);"},
      {3, "0003_b.sql", "CREATE TABLE b (x int); INSERT INTO applied_log VALUES (3);"},
  };
  constexpr int kRunners = 4;
  std::vector<absl::StatusOr<MigrationReport>> reports(kRunners,
                                                       absl::UnknownError("not run"));
  std::vector<std::unique_ptr<PgPool>> pools;
  for (int i = 0; i < kRunners; ++i) {
    PgPoolOptions o;
    o.size = 1;
    pools.push_back(MakePool(o));
    ASSERT_NE(pools.back(), nullptr);
  }
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kRunners; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < kRunners) std::this_thread::yield();
      reports[i] = RunMigrations(*pools[i], "svc", migrations);
    });
  }
  for (auto& t : threads) t.join();

  std::vector<int> applied;
  for (const auto& r : reports) {
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->latest_version, 3);
    applied.insert(applied.end(), r->applied.begin(), r->applied.end());
  }
  std::sort(applied.begin(), applied.end());
  EXPECT_THAT(applied, ElementsAre(1, 2, 3));
  EXPECT_EQ(Query<std::string>("SELECT string_agg(version::text, ',' ORDER BY version) "
                               "FROM svc.applied_log"),
            "1,2,3");
  EXPECT_THAT(AppliedVersions("svc"), ElementsAre(1, 2, 3));
}

TEST_F(MigrationsPgTest, FailingMigrationLeavesNothingOfItselfAndKeepsEarlierOnes) {
  std::vector<Migration> migrations = {
      {1, "0001_ok.sql", "CREATE TABLE first_table (x int);"},
      {2, "0002_broken.sql",
       "CREATE TABLE half_done (x int); INSERT INTO half_done VALUES (1);"
       "CREATE INDEX ON half_done (x); SELECT * FROM no_such_table;"},
      {3, "0003_after.sql", "CREATE TABLE third_table (x int);"},
  };
  absl::StatusOr<MigrationReport> r = RunMigrations(*pool_, "svc", migrations);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInternal,
                          AllOf(HasSubstr("0002_broken.sql"), HasSubstr("no_such_table"),
                                HasSubstr("42P01"))));
  EXPECT_TRUE(TableExists("svc.first_table"));
  EXPECT_FALSE(TableExists("svc.half_done"));
  EXPECT_FALSE(TableExists("svc.third_table"));
  EXPECT_THAT(AppliedVersions("svc"), ElementsAre(1));

  // Fixed, it applies along with the rest.
  migrations[1].sql = "CREATE TABLE half_done (x int);";
  r = RunMigrations(*pool_, "svc", migrations);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->applied, ElementsAre(2, 3));
  EXPECT_TRUE(TableExists("svc.third_table"));
}

TEST_F(MigrationsPgTest, ChangedAppliedMigrationIsFailedPrecondition) {
  std::vector<Migration> migrations = {{1, "0001_t.sql", "CREATE TABLE t (x int);"}};
  ASSERT_THAT(RunMigrations(*pool_, "svc", migrations), IsOk());
  migrations[0].sql = "CREATE TABLE t (x bigint);";
  migrations.push_back({2, "0002_u.sql", "CREATE TABLE u (x int);"});
  EXPECT_THAT(RunMigrations(*pool_, "svc", migrations),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("0001_t.sql"), HasSubstr("changed"))));
  EXPECT_FALSE(TableExists("svc.u"));  // nothing applied after the mismatch
  EXPECT_THAT(VerifyMigrations(*pool_, "svc", migrations),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("0001_t.sql")));
}

TEST_F(MigrationsPgTest, VerifyReportsMissingSchemaAndPendingMigrations) {
  const std::vector<Migration>& m = db_testdata::EmbeddedMigrations();
  EXPECT_THAT(VerifyMigrations(*pool_, "db_testdata", m),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not migrated")));
  ASSERT_THAT(RunMigrations(*pool_, "db_testdata", {m[0]}), IsOk());
  EXPECT_THAT(VerifyMigrations(*pool_, "db_testdata", m),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("0002_add_events.sql")));
  ASSERT_THAT(RunMigrations(*pool_, "db_testdata", m), IsOk());
  EXPECT_THAT(VerifyMigrations(*pool_, "db_testdata", m), IsOk());
}

TEST_F(MigrationsPgTest, RejectsBadSchemaNamesWithoutTouchingTheDatabase) {
  EXPECT_THAT(RunMigrations(*pool_, "svc\"; DROP SCHEMA public; --", {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(Query<bool>("SELECT to_regnamespace('public') IS NOT NULL"));
}

}  // namespace
}  // namespace mlops

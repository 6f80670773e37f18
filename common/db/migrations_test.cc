#include "common/db/migrations.h"

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops_migrations/db_testdata_migrations.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(MigrationChecksumTest, IsLowercaseHexSha256) {
  EXPECT_EQ(MigrationChecksum(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_NE(MigrationChecksum("CREATE TABLE a (x int);"),
            MigrationChecksum("CREATE TABLE a (x int); "));
}

TEST(ValidateMigrationsTest, AcceptsIncreasingVersions) {
  EXPECT_THAT(ValidateMigrations({{1, "0001_a.sql", "SELECT 1"}, {3, "0003_b.sql", "SELECT 1"}}),
              IsOk());
  EXPECT_THAT(ValidateMigrations({}), IsOk());
}

TEST(ValidateMigrationsTest, RejectsDuplicateOrDecreasingVersions) {
  EXPECT_THAT(ValidateMigrations({{2, "0002_a.sql", "SELECT 1"}, {2, "0002_b.sql", "SELECT 1"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("0002_b.sql")));
  EXPECT_THAT(ValidateMigrations({{0, "0000_a.sql", "SELECT 1"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ValidateMigrationsTest, RejectsEmptyNameOrSql) {
  EXPECT_THAT(ValidateMigrations({{1, "", "SELECT 1"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty name")));
  EXPECT_THAT(ValidateMigrations({{1, "0001_a.sql", " \n"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty SQL")));
}

TEST(EmbeddedMigrationsTest, EmbedsTheSqlFilesInVersionOrder) {
  const std::vector<Migration>& m = db_testdata::EmbeddedMigrations();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].version, 1);
  EXPECT_EQ(m[0].name, "0001_create_items.sql");
  EXPECT_THAT(m[0].sql, StartsWith("-- Test migration: a table"));
  EXPECT_THAT(m[0].sql, HasSubstr("CHECK (qty >= 0)"));
  EXPECT_EQ(m[1].version, 2);
  EXPECT_EQ(m[1].name, "0002_add_events.sql");
  EXPECT_THAT(m[1].sql, HasSubstr("CREATE INDEX events_by_item"));
  EXPECT_STREQ(db_testdata::kMigrationSchema, "db_testdata");
  EXPECT_THAT(ValidateMigrations(m), IsOk());
}

}  // namespace
}  // namespace mlops

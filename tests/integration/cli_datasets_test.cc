// mlopsctl's dataset commands against the real ingestion binary and Postgres:
// create from a JSON definition, ingest CSV files (committed, rejected by an
// expectation, malformed), list versions, profile and report; tables, JSON and
// exit codes.
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/local_platform.h"

namespace mlops::testing_platform {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDefinition[] = R"({
  "description": "card transactions",
  "schema": {"columns": [
    {"name": "customer_id", "type": "DATA_TYPE_STRING", "role": "COLUMN_ROLE_ENTITY_KEY"},
    {"name": "ts", "type": "DATA_TYPE_TIMESTAMP", "role": "COLUMN_ROLE_EVENT_TIMESTAMP"},
    {"name": "amount", "type": "DATA_TYPE_DOUBLE", "role": "COLUMN_ROLE_FEATURE"},
    {"name": "is_fraud", "type": "DATA_TYPE_BOOL", "role": "COLUMN_ROLE_LABEL"}]},
  "expectations": [
    {"name": "amount_not_negative", "column": "amount", "severity": "SEVERITY_ERROR",
     "between": {"min": {"doubleValue": 0}}}]
})";

class CliDatasetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dsn = std::getenv("MLOPS_TEST_PG_DSN");
    if (dsn == nullptr) GTEST_SKIP() << "MLOPS_TEST_PG_DSN not set";
    MLOPS_ASSERT_OK_AND_ASSIGN(platform_, LocalPlatform::Create(dsn));
    ASSERT_THAT(platform_->Start({{"ingestion", MLOPS_INGESTION_PATH}}), IsOk());
  }
  void TearDown() override {
    if (platform_ == nullptr) return;
    for (const auto& [name, code] : platform_->StopAll()) EXPECT_EQ(code, 0) << name;
  }

  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = absl::StrCat(platform_->dir(), "/", name);
    std::ofstream(path) << content;
    return path;
  }

  CliResult Cli(std::vector<std::string> command, bool json = false) {
    std::vector<std::string> args = {
        "--ingestion_addr=" + platform_->service("ingestion").address(),
        "--token=" + platform_->admin_token()};
    if (json) args.push_back("--json");
    args.insert(args.end(), command.begin(), command.end());
    return RunCli(MLOPS_CLI_PATH, args);
  }

  std::unique_ptr<LocalPlatform> platform_;
};

TEST_F(CliDatasetsTest, CreateIngestRejectAndInspect) {
  const std::string definition = WriteFile("tx.json", kDefinition);
  CliResult created = Cli({"datasets", "create", "transactions", "--schema=" + definition});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_THAT(created.output, HasSubstr("created dataset \"transactions\": 4 columns, 1 expectations"));

  std::string good = "customer_id,ts,amount,is_fraud\n";
  for (int i = 0; i < 500; ++i) {
    absl::StrAppend(&good, "c", i % 37, ",2026-01-0", 1 + i % 9, "T10:00:00Z,", i * 1.5, ",",
                    i % 50 == 0 ? "true" : "false", "\n");
  }
  CliResult ingested =
      Cli({"datasets", "ingest", "transactions", WriteFile("good.csv", good), "--chunk_rows=64"});
  ASSERT_EQ(ingested.exit_code, 0) << ingested.output;
  EXPECT_THAT(ingested.output, HasSubstr("committed version 1"));
  EXPECT_THAT(ingested.output, HasSubstr("500 rows appended"));

  // An expectation fails: exit 1, a report naming the row, nothing stored.
  const std::string bad = "customer_id,ts,amount,is_fraud\nc1,2026-02-01T00:00:00Z,5,false\n"
                          "c2,2026-02-01T00:00:01Z,-3.5,false\n";
  CliResult rejected = Cli({"datasets", "ingest", "transactions", WriteFile("bad.csv", bad)});
  EXPECT_EQ(rejected.exit_code, 1) << rejected.output;
  EXPECT_THAT(rejected.output, HasSubstr("batch rejected; nothing was stored"));
  EXPECT_THAT(rejected.output, HasSubstr("amount_not_negative"));
  EXPECT_THAT(rejected.output, HasSubstr("row 1: -3.5"));

  // A malformed file: exit 5, the line and column, nothing stored.
  const std::string malformed = "customer_id,ts,amount,is_fraud\nc1,2026-02-01T00:00:00Z,12x,false\n";
  CliResult broken = Cli({"datasets", "ingest", "transactions", WriteFile("broken.csv", malformed)});
  EXPECT_EQ(broken.exit_code, 5) << broken.output;
  EXPECT_THAT(broken.output, HasSubstr("2:"));
  EXPECT_THAT(broken.output, HasSubstr("\"12x\" is not a double"));

  // A dry run validates without storing.
  CliResult dry = Cli({"datasets", "ingest", "transactions", WriteFile("dry.csv", bad), "--dry_run"});
  EXPECT_EQ(dry.exit_code, 1) << dry.output;
  EXPECT_THAT(dry.output, HasSubstr("REJECTED"));

  CliResult versions = Cli({"datasets", "versions", "transactions"});
  ASSERT_EQ(versions.exit_code, 0) << versions.output;
  EXPECT_THAT(versions.output, HasSubstr("SEQ"));
  EXPECT_THAT(versions.output, Not(HasSubstr("\n2 ")));  // still one version
  CliResult listed = Cli({"datasets", "list"}, /*json=*/true);
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_THAT(listed.output, HasSubstr("\"head_row_count\":\"500\""));

  CliResult profile = Cli({"datasets", "profile", "transactions"});
  ASSERT_EQ(profile.exit_code, 0) << profile.output;
  EXPECT_THAT(profile.output, HasSubstr("500 rows"));
  EXPECT_THAT(profile.output, HasSubstr("amount"));
  EXPECT_THAT(profile.output, HasSubstr("374.25"));  // mean of 1.5 * (0..499)

  CliResult report = Cli({"datasets", "report", "transactions"});
  ASSERT_EQ(report.exit_code, 0) << report.output;
  EXPECT_THAT(report.output, HasSubstr("PASSED: 0 error(s)"));

  CliResult missing = Cli({"datasets", "show", "no_such_dataset"});
  EXPECT_EQ(missing.exit_code, 4) << missing.output;
  CliResult usage = Cli({"datasets", "create", "x"});
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
}

}  // namespace
}  // namespace mlops::testing_platform

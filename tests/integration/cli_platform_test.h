#pragma once
// A gtest fixture for mlopsctl against real service binaries: starts the
// given binaries on a fresh database (skips the test when
// MLOPS_TEST_PG_DSN is unset), writes input files into the platform's temp
// dir and runs mlopsctl with the admin token and every started service's
// address. Stops the services in TearDown and expects each to exit 0.

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/local_platform.h"

namespace mlops::testing_platform {

// A card transactions dataset for `datasets create`: customer, time, amount,
// fraud label.
inline constexpr char kTransactionsDefinition[] = R"({
  "schema": {"columns": [
    {"name": "customer_id", "type": "DATA_TYPE_STRING", "role": "COLUMN_ROLE_ENTITY_KEY"},
    {"name": "ts", "type": "DATA_TYPE_TIMESTAMP", "role": "COLUMN_ROLE_EVENT_TIMESTAMP"},
    {"name": "amount", "type": "DATA_TYPE_DOUBLE", "role": "COLUMN_ROLE_FEATURE"},
    {"name": "is_fraud", "type": "DATA_TYPE_BOOL", "role": "COLUMN_ROLE_LABEL"}]}
})";

class CliPlatformTest : public ::testing::Test {
 protected:
  // Call from SetUp.
  void StartPlatform(const std::vector<ServiceBinary>& binaries) {
    const char* dsn = std::getenv("MLOPS_TEST_PG_DSN");
    if (dsn == nullptr) GTEST_SKIP() << "MLOPS_TEST_PG_DSN not set";
    MLOPS_ASSERT_OK_AND_ASSIGN(platform_, LocalPlatform::Create(dsn));
    ASSERT_THAT(platform_->Start(binaries), IsOk());
    for (const ServiceBinary& binary : binaries) services_.push_back(binary.name);
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

  CliResult Cli(const std::vector<std::string>& command) {
    std::vector<std::string> args = {"--token=" + platform_->admin_token()};
    for (const std::string& service : services_) {
      args.push_back(absl::StrCat("--", service, "_addr=", platform_->service(service).address()));
    }
    args.insert(args.end(), command.begin(), command.end());
    return RunCli(MLOPS_CLI_PATH, args, absl::Seconds(120));
  }

  std::unique_ptr<LocalPlatform> platform_;
  std::vector<std::string> services_;
};

}  // namespace mlops::testing_platform

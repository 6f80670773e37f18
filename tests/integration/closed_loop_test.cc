// The main job in CI: mlops-demo (the README's run command's demo) against the
// six real binaries on a fresh database, scaled down (2 h of history, 300
// customers): data in, model out, drift detected, the model retrained by the
// alert and rolled out by canary. Exits 0 only when the loop closed.
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

std::vector<ServiceBinary> AllBinaries() {
  return {
#define MLOPS_BINARY(name, macro) {name, macro},
      MLOPS_SERVICE_BINARIES
#undef MLOPS_BINARY
  };
}

TEST(ClosedLoopTest, DemoClosesTheLoopOnTheRealServices) {
  const char* dsn = std::getenv("MLOPS_TEST_PG_DSN");
  if (dsn == nullptr) GTEST_SKIP() << "MLOPS_TEST_PG_DSN not set";
  MLOPS_ASSERT_OK_AND_ASSIGN(auto platform, LocalPlatform::Create(dsn));
  ASSERT_THAT(platform->Start(AllBinaries()), IsOk());
  const std::string token_file = platform->dir() + "/admin.token";
  std::ofstream(token_file) << platform->admin_token() << "\n";
  std::vector<std::string> args = {"--token_file=" + token_file, "--customers=300",
                                   "--history_minutes=120", "--calm_seconds=20",
                                   "--timeout_seconds=480"};
  for (const char* service : {"ingestion", "features", "training", "registry", "gateway", "monitoring"}) {
    args.push_back(absl::StrCat("--", service, "_addr=", platform->service(service).address()));
  }
  const CliResult demo = RunCli(MLOPS_DEMO_PATH, args, absl::Seconds(540));
  EXPECT_EQ(demo.exit_code, 0) << demo.output;
  EXPECT_THAT(demo.output, HasSubstr("REJECTED, 2 failed expectations"));
  EXPECT_THAT(demo.output, HasSubstr("6. ALERT"));
  EXPECT_THAT(demo.output, HasSubstr("retrained by the alert"));
  EXPECT_THAT(demo.output, HasSubstr("canary COMPLETED: fraud@2 serves all traffic"));
  for (const auto& [name, code] : platform->StopAll()) {
    EXPECT_EQ(code, 0) << name << ":\n" << platform->service(name).process->ReadLog(4096);
  }
}

}  // namespace
}  // namespace mlops::testing_platform

// The main job in CI: mlops-demo (the README's run command's demo) against the
// six real binaries on a fresh database, scaled down (2 h of history, 300
// customers): data in, model out, drift detected, the model retrained by the
// alert and rolled out by canary. Exits 0 only when the loop closed. Then
// every metric the shipped Prometheus rules and Grafana dashboards use
// (deploy/prometheus/metric_names.txt) must be on its service's /metrics.
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/testing/http_get.h"
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

struct UsedMetric {
  std::string name;     // a sample name, e.g. mlops_x_bucket
  std::string service;  // "all" or the service exporting it
};

// The names listed in metric_names.txt ("<name> <service> <state> # ...").
std::vector<UsedMetric> UsedMetrics() {
  std::ifstream in(MLOPS_METRIC_NAMES_PATH);
  std::vector<UsedMetric> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    if (words.size() >= 2) out.push_back({words[0], words[1]});
  }
  return out;
}

// Whether `page` (a /metrics body) exports sample `name`: a sample line, or
// the family's TYPE line (a labelled family with no sample yet, e.g. a
// rollback counter in a run without rollbacks).
bool Exports(const std::string& page, const std::string& name) {
  if (absl::StrContains(page, "\n" + name + "{") || absl::StrContains(page, "\n" + name + " ")) {
    return true;
  }
  std::string family = name;
  for (const char* suffix : {"_bucket", "_count", "_sum"}) {
    if (absl::EndsWith(family, suffix)) family.resize(family.size() - strlen(suffix));
  }
  return absl::StrContains(page, "# TYPE " + family + " ");
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

  const std::vector<UsedMetric> used = UsedMetrics();
  ASSERT_GE(used.size(), 10u) << MLOPS_METRIC_NAMES_PATH;
  for (const ServiceBinary& binary : AllBinaries()) {
    absl::StatusOr<HttpResponse> page =
        HttpGet("127.0.0.1", platform->service(binary.name).metrics_port, "/metrics");
    ASSERT_TRUE(page.ok()) << binary.name << ": " << page.status();
    for (const UsedMetric& m : used) {
      if (m.service != "all" && m.service != binary.name) continue;
      EXPECT_TRUE(Exports(page->body, m.name))
          << m.name << " (used by the shipped rules or dashboards) is not on " << binary.name
          << "'s /metrics after the closed loop";
    }
  }
  for (const auto& [name, code] : platform->StopAll()) {
    EXPECT_EQ(code, 0) << name << ":\n" << platform->service(name).process->ReadLog(4096);
  }
}

}  // namespace
}  // namespace mlops::testing_platform

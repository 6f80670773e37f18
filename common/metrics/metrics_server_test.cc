#include "common/metrics/metrics_server.h"

#include <memory>
#include <string>

#include "common/metrics/build_info.h"
#include "common/testing/http_get.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/counter.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;

// One server for the suite: each Exposer takes ~2 s to stop.
class MetricsServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = MetricsServer::Start({"127.0.0.1", 0, 1});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server).release();
    AddBuildInfoMetric(server_->registry(), {"echo", "1.2.3", "abc123"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static MetricsServer* server_;
};
MetricsServer* MetricsServerTest::server_ = nullptr;

TEST_F(MetricsServerTest, ServesBuildInfoOnAFreePort) {
  ASSERT_GT(server_->port(), 0);
  MLOPS_ASSERT_OK_AND_ASSIGN(HttpResponse response,
                             HttpGet("127.0.0.1", server_->port(), "/metrics"));
  EXPECT_EQ(response.status_code, 200);
  EXPECT_THAT(response.body, HasSubstr("# TYPE mlops_build_info gauge"));
  EXPECT_THAT(response.body,
              HasSubstr("mlops_build_info{commit=\"abc123\",service=\"echo\",version=\"1.2.3\"} 1"));
}

TEST_F(MetricsServerTest, ServesFamiliesAddedAfterStart) {
  prometheus::BuildCounter()
      .Name("mlops_test_things_total")
      .Help("Things.")
      .Register(server_->registry())
      .Add({{"kind", "a"}})
      .Increment(3);
  MLOPS_ASSERT_OK_AND_ASSIGN(HttpResponse response,
                             HttpGet("127.0.0.1", server_->port(), "/metrics"));
  EXPECT_THAT(response.body, HasSubstr("mlops_test_things_total{kind=\"a\"} 3"));
}

TEST_F(MetricsServerTest, PortInUseIsAClearError) {
  EXPECT_THAT(MetricsServer::Start({"127.0.0.1", server_->port(), 1}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("127.0.0.1:" + std::to_string(server_->port()))));
}

TEST(MetricsServerOptionsTest, RejectsPortOutOfRange) {
  EXPECT_THAT(MetricsServer::Start({"127.0.0.1", 65536, 1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("65536")));
}

TEST(BuildInfoTest, CurrentBuildCarriesTheProjectVersionAndACommit) {
  const BuildInfo info = CurrentBuildInfo("registry");
  EXPECT_EQ(info.service, "registry");
  EXPECT_THAT(info.version, ::testing::MatchesRegex("[0-9]+\\.[0-9]+\\.[0-9]+"));
  EXPECT_FALSE(info.commit.empty());
}

TEST(HttpGetTest, NothingListeningIsUnavailable) {
  // Port 1 on loopback: nothing listens there in a test environment.
  EXPECT_THAT(HttpGet("127.0.0.1", 1, "/metrics", absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace mlops

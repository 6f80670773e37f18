#include "common/server/run_service.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <string>

#include "common/server/ports_file.h"
#include "common/testing/echo_service.h"
#include "common/peers/health_check.h"
#include "common/testing/http_get.h"
#include "common/testing/process.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;

TEST(RunServiceTest, ServesUntilSigtermThenDrainsAndReturnsOk) {
  const std::string ports_file =
      ::testing::TempDir() + "/run_service_test." + std::to_string(getpid()) + ".json";
  std::remove(ports_file.c_str());
  TestEchoService service;
  std::atomic<int> startup_attempts{0};
  ServiceRunOptions options;
  options.service_name = "echo";
  options.grpc.host = "127.0.0.1";
  options.grpc.shutdown_grace = absl::Seconds(5);
  options.metrics.host = "127.0.0.1";
  options.metrics.port = 0;
  options.ports_file = ports_file;
  options.readiness.initial_backoff = absl::Milliseconds(20);
  options.readiness.startup = [&] {
    return ++startup_attempts < 2 ? absl::UnavailableError("postgres is starting")
                                  : absl::OkStatus();
  };

  std::atomic<bool> drained{false};
  options.on_drain = [&] { drained = true; };
  std::future<absl::Status> run =
      std::async(std::launch::async, [&] { return RunService(options, {&service}); });

  MLOPS_ASSERT_OK_AND_ASSIGN(ServicePorts ports, WaitForPortsFile(ports_file, absl::Seconds(20)));
  const std::string address = "127.0.0.1:" + std::to_string(ports.grpc_port);
  MLOPS_ASSERT_OK(WaitForServing(address, absl::Seconds(20)));
  EXPECT_EQ(startup_attempts.load(), 2);

  MLOPS_ASSERT_OK_AND_ASSIGN(HttpResponse scrape,
                             HttpGet("127.0.0.1", ports.metrics_port, "/metrics"));
  EXPECT_EQ(scrape.status_code, 200);
  EXPECT_THAT(scrape.body, HasSubstr("mlops_build_info{"));
  EXPECT_THAT(scrape.body, HasSubstr("service=\"echo\""));
  EXPECT_THAT(scrape.body, HasSubstr("# TYPE mlops_grpc_server_handled_total counter"));
  EXPECT_THAT(scrape.body, HasSubstr("# TYPE mlops_grpc_server_handling_seconds histogram"));
  // The health checks above went through the interceptor.
  EXPECT_THAT(scrape.body,
              HasSubstr("mlops_grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Check\","
                        "grpc_service=\"grpc.health.v1.Health\"}"));

  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  ASSERT_EQ(run.wait_for(std::chrono::seconds(30)), std::future_status::ready)
      << "RunService did not return within 30 s of SIGTERM";
  MLOPS_EXPECT_OK(run.get());
  EXPECT_TRUE(drained.load());
  EXPECT_FALSE(std::ifstream(ports_file).good()) << "ports file left behind";
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  EXPECT_THAT(CheckHealth(channel, "", absl::Milliseconds(500)),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(RunServiceTest, FailsWhenTheMetricsPortIsTaken) {
  MLOPS_ASSERT_OK_AND_ASSIGN(auto taken, MetricsServer::Start({"127.0.0.1", 0, 1}));
  TestEchoService service;
  ServiceRunOptions options;
  options.service_name = "echo";
  options.grpc.host = "127.0.0.1";
  options.metrics.host = "127.0.0.1";
  options.metrics.port = taken->port();
  std::future<absl::Status> run =
      std::async(std::launch::async, [&] { return RunService(options, {&service}); });
  ASSERT_EQ(run.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_THAT(run.get(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                  HasSubstr(std::to_string(taken->port()))));
}

TEST(RunServiceTest, RequiresAServiceName) {
  TestEchoService service;
  EXPECT_THAT(RunService(ServiceRunOptions{}, {&service}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("service_name")));
}

}  // namespace
}  // namespace mlops

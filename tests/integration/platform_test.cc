// The six real binaries over real gRPC and a real Postgres: they start,
// migrate, report SERVING, export metrics, and drain on SIGTERM with exit 0;
// bad configuration and an unreachable database are handled without a crash.
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/peers/health_check.h"
#include "common/testing/http_get.h"
#include "common/testing/process.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "mlops/registry/v1/registry.grpc.pb.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/local_platform.h"
#include "tests/integration/service_binaries.h"

namespace mlops::testing_platform {
namespace {

using ::testing::HasSubstr;

std::string AdminDsnOrSkip() {
  const char* dsn = std::getenv("MLOPS_TEST_PG_DSN");
  return dsn == nullptr ? "" : dsn;
}

TEST(PlatformTest, AllServicesServeExportMetricsAndDrainOnSigterm) {
  const std::string admin_dsn = AdminDsnOrSkip();
  if (admin_dsn.empty()) GTEST_SKIP() << "MLOPS_TEST_PG_DSN not set";
  MLOPS_ASSERT_OK_AND_ASSIGN(auto platform, LocalPlatform::Create(admin_dsn));
  ASSERT_THAT(platform->Start(AllServiceBinaries()), IsOk());

  for (const ServiceBinary& binary : AllServiceBinaries()) {
    RunningService& service = platform->service(binary.name);
    MLOPS_ASSERT_OK_AND_ASSIGN(HttpResponse page,
                               HttpGet("127.0.0.1", service.metrics_port, "/metrics"));
    EXPECT_EQ(page.status_code, 200) << binary.name;
    EXPECT_THAT(page.body, HasSubstr("mlops_build_info{")) << binary.name;
    EXPECT_THAT(page.body, HasSubstr(absl::StrCat("service=\"", binary.name, "\"")))
        << binary.name;
    // The readiness polls above went through the metrics interceptor.
    EXPECT_THAT(page.body, HasSubstr("mlops_grpc_server_handled_total{grpc_code=\"OK\","
                                     "grpc_method=\"Check\",grpc_service=\"grpc.health.v1.Health\"}"))
        << binary.name;
    EXPECT_THAT(page.body, HasSubstr("mlops_grpc_server_handling_seconds_bucket")) << binary.name;
  }

  for (const auto& [name, code] : platform->StopAll()) {
    EXPECT_EQ(code, 0) << name << " did not drain cleanly:\n"
                       << platform->service(name).process->ReadLog(4096);
  }
}

bool HasBinary(const std::string& name) {
  for (const ServiceBinary& binary : AllServiceBinaries()) {
    if (binary.name == name) return true;
  }
  return false;
}

grpc::StatusCode CallListModels(registry::v1::RegistryService::Stub& stub, const std::string& token) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  registry::v1::ListModelsRequest request;
  registry::v1::ListModelsResponse response;
  return stub.ListModels(&context, request, &response).error_code();
}

grpc::StatusCode CallCreateModel(registry::v1::RegistryService::Stub& stub, const std::string& token,
                                 const std::string& name) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  context.AddMetadata("authorization", "Bearer " + token);
  registry::v1::CreateModelRequest request;
  request.set_name(name);
  registry::v1::Model response;
  return stub.CreateModel(&context, request, &response).error_code();
}

// Auth end to end on a real binary: no token, an unknown token, a role too low.
TEST(PlatformTest, EveryRpcNeedsATokenWithTheRightRole) {
  const std::string admin_dsn = AdminDsnOrSkip();
  if (admin_dsn.empty()) GTEST_SKIP() << "MLOPS_TEST_PG_DSN not set";
  if (!HasBinary("registry")) GTEST_SKIP() << "no registry binary";
  MLOPS_ASSERT_OK_AND_ASSIGN(auto platform, LocalPlatform::Create(admin_dsn));
  std::vector<ServiceBinary> registry_only;
  for (const ServiceBinary& binary : AllServiceBinaries()) {
    if (binary.name == "registry") registry_only.push_back(binary);
  }
  ASSERT_THAT(platform->Start(registry_only), IsOk());
  auto stub = registry::v1::RegistryService::NewStub(grpc::CreateChannel(
      platform->service("registry").address(), grpc::InsecureChannelCredentials()));

  EXPECT_EQ(CallListModels(*stub, ""), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(CallListModels(*stub, "not-a-token"), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(CallListModels(*stub, platform->viewer_token()), grpc::StatusCode::OK);
  EXPECT_EQ(CallCreateModel(*stub, platform->viewer_token(), "fraud"),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CallCreateModel(*stub, platform->admin_token(), "fraud"), grpc::StatusCode::OK);
  // Bad input changes nothing and names the field.
  EXPECT_EQ(CallCreateModel(*stub, platform->admin_token(), "DROP TABLE models;"),
            grpc::StatusCode::INVALID_ARGUMENT);

  // The CLI over the same binary: tables, JSON, exit codes.
  const std::string registry_addr = "--registry_addr=" + platform->service("registry").address();
  auto run_cli = [&](std::vector<std::string> args) -> std::pair<int, std::string> {
    CliResult result = RunCli(MLOPS_CLI_PATH, std::move(args));
    return {result.exit_code, result.output};
  };
  auto [list_code, list_out] =
      run_cli({registry_addr, "--token=" + platform->viewer_token(), "models", "list"});
  EXPECT_EQ(list_code, 0) << list_out;
  EXPECT_THAT(list_out, HasSubstr("MODEL"));
  EXPECT_THAT(list_out, HasSubstr("fraud"));
  auto [json_code, json_out] = run_cli(
      {registry_addr, "--token=" + platform->viewer_token(), "--json", "models", "list"});
  EXPECT_EQ(json_code, 0) << json_out;
  EXPECT_THAT(json_out, HasSubstr("\"name\":\"fraud\""));
  auto [audit_code, audit_out] =
      run_cli({registry_addr, "--token=" + platform->admin_token(), "audit", "verify"});
  EXPECT_EQ(audit_code, 0) << audit_out;
  EXPECT_THAT(audit_out, HasSubstr("audit log ok"));
  auto [denied_code, denied_out] =
      run_cli({registry_addr, "--token=not-a-token", "models", "list"});
  EXPECT_EQ(denied_code, 6) << denied_out;
  EXPECT_THAT(denied_out, HasSubstr("hint: pass a valid token"));
  for (const auto& [name, code] : platform->StopAll()) EXPECT_EQ(code, 0) << name;
}

TEST(PlatformTest, UnreachableDatabaseKeepsServiceAliveAndNotServing) {
  const std::vector<ServiceBinary> binaries = AllServiceBinaries();
  ASSERT_FALSE(binaries.empty());
  MLOPS_ASSERT_OK_AND_ASSIGN(int closed_port, PickFreePort());
  MLOPS_ASSERT_OK_AND_ASSIGN(int grpc_port, PickFreePort());
  MLOPS_ASSERT_OK_AND_ASSIGN(
      auto child,
      ChildProcess::Start(binaries.front().path,
                          {"--grpc_host=127.0.0.1", absl::StrCat("--grpc_port=", grpc_port),
                           "--metrics_port=0", "--auth_disabled",
                           absl::StrCat("--database_url=postgresql://postgres@127.0.0.1:",
                                        closed_port, "/mlops")}));
  // Bounded: the server answers NOT_SERVING while it retries the database. A
  // fresh channel per attempt, so that refusals before the server listened do
  // not leave the channel in reconnect backoff.
  absl::StatusOr<HealthStatus> health = absl::UnavailableError("not asked yet");
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (absl::Now() < give_up) {
    health = CheckHealth(grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port),
                                             grpc::InsecureChannelCredentials()));
    if (health.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_THAT(health, IsOk()) << child->ReadLog();
  EXPECT_EQ(*health, grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  absl::SleepFor(absl::Seconds(1));
  EXPECT_TRUE(child->Running()) << child->ReadLog();
  EXPECT_THAT(child->ReadLog(), HasSubstr("event=startup_failed"));
  MLOPS_ASSERT_OK_AND_ASSIGN(int code, child->Terminate(absl::Seconds(15)));
  EXPECT_EQ(code, 0) << child->ReadLog();
}

TEST(PlatformTest, BadConfigurationExitsWithMessageNamingTheFlag) {
  const std::vector<ServiceBinary> binaries = AllServiceBinaries();
  for (const ServiceBinary& binary : binaries) {
    MLOPS_ASSERT_OK_AND_ASSIGN(
        auto child, ChildProcess::Start(binary.path, {"--grpc_port=70000", "--auth_disabled",
                                                      "--database_url=postgresql://x@127.0.0.1/db"}));
    MLOPS_ASSERT_OK_AND_ASSIGN(int code, child->Wait(absl::Seconds(10)));
    EXPECT_EQ(code, 2) << binary.name;
    EXPECT_THAT(child->ReadLog(), HasSubstr("--grpc_port (env MLOPS_GRPC_PORT)")) << binary.name;
  }
}

TEST(PlatformTest, MissingTokenFileIsAConfigurationError) {
  const ServiceBinary binary = AllServiceBinaries().front();
  MLOPS_ASSERT_OK_AND_ASSIGN(
      auto child, ChildProcess::Start(binary.path, {"--auth_tokens_file=/nonexistent/tokens",
                                                    "--database_url=postgresql://x@127.0.0.1/db"}));
  MLOPS_ASSERT_OK_AND_ASSIGN(int code, child->Wait(absl::Seconds(10)));
  EXPECT_EQ(code, 2);
  EXPECT_THAT(child->ReadLog(), HasSubstr("--auth_tokens_file"));
}

TEST(PlatformTest, UnknownFlagIsRejected) {
  const ServiceBinary binary = AllServiceBinaries().front();
  MLOPS_ASSERT_OK_AND_ASSIGN(auto child, ChildProcess::Start(binary.path, {"--no_such_flag=1"}));
  MLOPS_ASSERT_OK_AND_ASSIGN(int code, child->Wait(absl::Seconds(10)));
  EXPECT_NE(code, 0);
  EXPECT_THAT(child->ReadLog(), HasSubstr("no_such_flag"));
}

}  // namespace
}  // namespace mlops::testing_platform

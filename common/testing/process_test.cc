#include "common/testing/process.h"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "common/peers/health_check.h"
#include "common/testing/http_get.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<ChildProcess> StartShell(const std::string& script,
                                         const std::map<std::string, std::string>& env = {}) {
  auto child = ChildProcess::Start("/bin/sh", {"-c", script}, env);
  EXPECT_THAT(child, IsOk());
  return child.ok() ? std::move(*child) : nullptr;
}

TEST(ChildProcessTest, CollectsStdoutAndStderrInTheLog) {
  auto child = StartShell("echo to-stdout; echo to-stderr >&2");
  ASSERT_NE(child, nullptr);
  EXPECT_THAT(child->Wait(absl::Seconds(10)), IsOkAndHolds(0));
  EXPECT_THAT(child->ReadLog(), HasSubstr("to-stdout"));
  EXPECT_THAT(child->ReadLog(), HasSubstr("to-stderr"));
  EXPECT_FALSE(child->Running());
}

TEST(ChildProcessTest, PassesEnvironmentOverridesAndReturnsTheExitCode) {
  auto child = StartShell("echo \"x=$MLOPS_TEST_X\"; exit 3", {{"MLOPS_TEST_X", "42"}});
  ASSERT_NE(child, nullptr);
  EXPECT_THAT(child->Wait(absl::Seconds(10)), IsOkAndHolds(3));
  EXPECT_THAT(child->ReadLog(), HasSubstr("x=42"));
}

TEST(ChildProcessTest, WaitTimesOutWhileRunning) {
  auto child = StartShell("exec sleep 30");
  ASSERT_NE(child, nullptr);
  EXPECT_THAT(child->Wait(absl::Milliseconds(50)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_TRUE(child->Running());
}

TEST(ChildProcessTest, TerminateReportsDeathBySigterm) {
  auto child = StartShell("exec sleep 30");
  ASSERT_NE(child, nullptr);
  EXPECT_THAT(child->Terminate(absl::Seconds(10)), IsOkAndHolds(128 + SIGTERM));
}

TEST(ChildProcessTest, TerminateFallsBackToSigkill) {
  auto child = StartShell("trap '' TERM; echo ready; while true; do sleep 0.05; done");
  ASSERT_NE(child, nullptr);
  for (int i = 0; i < 500 && child->ReadLog().find("ready") == std::string::npos; ++i) {
    usleep(10000);
  }
  EXPECT_THAT(child->Terminate(absl::Milliseconds(200)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("SIGKILL")));
  EXPECT_FALSE(child->Running());
}

TEST(ChildProcessTest, MissingBinaryIsNotFound) {
  EXPECT_THAT(ChildProcess::Start("/nonexistent/mlops_binary", {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/mlops_binary")));
}

TEST(WaitForPortsFileTest, FailsFastWhenTheChildExits) {
  const std::string path = ::testing::TempDir() + "/never." + std::to_string(getpid());
  auto child = StartShell("echo cannot-start; exit 7");
  ASSERT_NE(child, nullptr);
  EXPECT_THAT(WaitForPortsFile(path, absl::Seconds(20), child.get()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::AllOf(HasSubstr("exited with 7"), HasSubstr("cannot-start"))));
}

TEST(WaitForPortsFileTest, TimesOutWithoutAFile) {
  EXPECT_THAT(WaitForPortsFile(::testing::TempDir() + "/absent.json", absl::Milliseconds(60)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

// What integration tests do with a service binary, against the echo server:
// ports file, health SERVING after a failing startup step, /metrics, SIGTERM -> 0.
TEST(EchoServerProcessTest, ServesThenExitsZeroOnSigterm) {
  const std::string ports_file =
      ::testing::TempDir() + "/echo_server." + std::to_string(getpid()) + ".json";
  std::remove(ports_file.c_str());
  MLOPS_ASSERT_OK_AND_ASSIGN(
      auto server, ChildProcess::Start(MLOPS_ECHO_SERVER_PATH,
                                       {"--ports_file=" + ports_file, "--startup_failures=2"}));
  MLOPS_ASSERT_OK_AND_ASSIGN(ServicePorts ports,
                             WaitForPortsFile(ports_file, absl::Seconds(30), server.get()));
  MLOPS_ASSERT_OK(WaitForServing("127.0.0.1:" + std::to_string(ports.grpc_port),
                                 absl::Seconds(30)));
  MLOPS_ASSERT_OK_AND_ASSIGN(HttpResponse scrape,
                             HttpGet("127.0.0.1", ports.metrics_port, "/metrics"));
  EXPECT_THAT(scrape.body, HasSubstr("mlops_build_info{"));
  EXPECT_THAT(scrape.body, HasSubstr("mlops_grpc_server_handled_total{"));

  EXPECT_THAT(server->Terminate(absl::Seconds(20)), IsOkAndHolds(0)) << server->ReadLog();
  const std::string log = server->ReadLog();
  EXPECT_THAT(log, HasSubstr("event=startup_failed"));
  EXPECT_THAT(log, HasSubstr("event=serving grpc_port=" + std::to_string(ports.grpc_port)));
  EXPECT_THAT(log, HasSubstr("event=shutdown_requested signal=SIGTERM"));
  EXPECT_THAT(log, HasSubstr("event=stopped"));
}

}  // namespace
}  // namespace mlops

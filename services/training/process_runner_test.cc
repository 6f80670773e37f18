// ProcessRunner with real programs (/bin/sh scripts): exit codes, output
// capture and its bound, the timeout (SIGTERM to the whole group, SIGKILL
// after the grace), a stop request, a missing program, and the explicit
// environment.
#include "services/training/process_runner.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops::training {
namespace {

using ::testing::HasSubstr;

ProcessSpec Sh(const std::string& script) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.env = {{"PATH", "/usr/bin:/bin"}};
  spec.timeout = std::chrono::seconds(20);
  spec.kill_grace = std::chrono::seconds(2);
  return spec;
}

// Running (a zombie waiting for its reaper does not count).
bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  if (!(stat >> pid_field >> comm >> state)) return false;
  return state != "Z" && state != "X";
}

TEST(ProcessRunnerTest, ReportsTheExitCodeAndKeepsBothStreams) {
  std::vector<std::string> lines;
  MLOPS_ASSERT_OK_AND_ASSIGN(
      ProcessOutcome o,
      ProcessRunner::Run(Sh("echo out1; echo err1 >&2; printf 'out2'; exit 3"), nullptr,
                         [&](const std::string& stream, const std::string& line) {
                           lines.push_back(stream + ":" + line);
                         }));
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_FALSE(o.timed_out);
  EXPECT_EQ(o.stdout_tail, "out1\nout2");
  EXPECT_EQ(o.stderr_tail, "err1\n");
  EXPECT_THAT(lines, ::testing::UnorderedElementsAre("stdout:out1", "stdout:out2", "stderr:err1"));
}

TEST(ProcessRunnerTest, KeepsOnlyTheLastBytesOfLongOutput) {
  ProcessSpec spec = Sh("i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done");
  spec.max_output_bytes = 100;
  MLOPS_ASSERT_OK_AND_ASSIGN(ProcessOutcome o, ProcessRunner::Run(spec, nullptr, nullptr));
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.stdout_tail.size(), 100u);
  EXPECT_THAT(o.stdout_tail, ::testing::EndsWith("line1999\n"));
  EXPECT_GT(o.stdout_bytes, 10000u);
}

TEST(ProcessRunnerTest, TimeoutTerminatesTheWholeProcessGroup) {
  const std::string pid_file = ::testing::TempDir() + "/grandchild.pid";
  std::remove(pid_file.c_str());
  // A grandchild sleeping in the background plus the program itself.
  ProcessSpec spec = Sh("sleep 30 & echo $! > " + pid_file + "; sleep 30");
  spec.timeout = std::chrono::seconds(1);
  const auto start = std::chrono::steady_clock::now();
  MLOPS_ASSERT_OK_AND_ASSIGN(ProcessOutcome o, ProcessRunner::Run(spec, nullptr, nullptr));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(o.timed_out);
  EXPECT_EQ(o.term_signal, SIGTERM);
  EXPECT_FALSE(o.killed);  // sh and sleep die on SIGTERM
  EXPECT_LT(took, std::chrono::seconds(5));
  std::ifstream f(pid_file);
  pid_t grandchild = 0;
  ASSERT_TRUE(f >> grandchild);
  // Reaped by init once it died; allow it a moment.
  for (int i = 0; i < 50 && Alive(grandchild); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(Alive(grandchild));
}

TEST(ProcessRunnerTest, SigkillAfterTheGraceWhenSigtermIsIgnored) {
  ProcessSpec spec = Sh("trap '' TERM; while true; do sleep 0.1; done");
  spec.timeout = std::chrono::milliseconds(300);
  spec.kill_grace = std::chrono::milliseconds(500);
  MLOPS_ASSERT_OK_AND_ASSIGN(ProcessOutcome o, ProcessRunner::Run(spec, nullptr, nullptr));
  EXPECT_TRUE(o.timed_out);
  EXPECT_TRUE(o.killed);
  EXPECT_EQ(o.term_signal, SIGKILL);
}

TEST(ProcessRunnerTest, StopRequestEndsTheProgram) {
  std::atomic<int> polls{0};
  MLOPS_ASSERT_OK_AND_ASSIGN(ProcessOutcome o, ProcessRunner::Run(Sh("sleep 30"), [&] { return ++polls > 3; }, nullptr));
  EXPECT_TRUE(o.stopped);
  EXPECT_FALSE(o.timed_out);
  EXPECT_LT(o.elapsed, std::chrono::seconds(5));
}

TEST(ProcessRunnerTest, MissingProgramIsNotFound) {
  ProcessSpec spec;
  spec.argv = {"no-such-trainer-program"};
  spec.env = {{"PATH", "/usr/bin:/bin"}};
  EXPECT_THAT(ProcessRunner::Run(spec, nullptr, nullptr).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("not found on PATH")));
  spec.argv = {"/nonexistent/train"};
  EXPECT_THAT(ProcessRunner::Run(spec, nullptr, nullptr).status(), StatusIs(absl::StatusCode::kNotFound));
  spec.argv = {};
  EXPECT_THAT(ProcessRunner::Run(spec, nullptr, nullptr).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ProcessRunnerTest, ChildSeesOnlyTheGivenEnvironmentAndWorkDir) {
  setenv("MLOPS_TEST_SECRET", "leak", 1);
  ProcessSpec spec = Sh("echo \"[$MLOPS_TEST_SECRET][$ONLY_THIS][$(pwd)]\"");
  spec.env["ONLY_THIS"] = "yes";
  spec.work_dir = "/tmp";
  MLOPS_ASSERT_OK_AND_ASSIGN(ProcessOutcome o, ProcessRunner::Run(spec, nullptr, nullptr));
  EXPECT_EQ(o.stdout_tail, "[][yes][/tmp]\n");
  unsetenv("MLOPS_TEST_SECRET");
}

TEST(TailBufferTest, KeepsTheLastBytesAndCountsAll) {
  TailBuffer b(5);
  b.Append("abc", 3);
  b.Append("defgh", 5);
  EXPECT_EQ(b.Take(), "defgh");
  b.Append("0123456789", 10);
  EXPECT_EQ(b.Take(), "56789");
  EXPECT_EQ(b.total(), 18u);
}

}  // namespace
}  // namespace mlops::training

// The Kubernetes path of command trainers: the Job manifest's structure
// (golden fields), the reading of Job and pod statuses, and the executor
// against a fake Kubernetes API server on 127.0.0.1 (plain HTTP): create Job
// -> poll status -> succeeded / failed with the pod's exit code / deadline
// exceeded / stopped, the bearer token, the log kept, the Job deleted; the
// pod's log followed while it runs (a chunked stream that arrives in pieces
// over time): lines reach the caller before the pod ends, in order, a
// dropped stream resumes without a duplicate or lost line, and a stop
// request returns promptly while the stream is silent.
#include "services/training/k8s_executor.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "services/training/testing/fake_k8s_api.h"

namespace mlops::training {
namespace {

namespace asio = boost::asio;
using ::testing::HasSubstr;
using testing::FakeK8sApi;
using ::testing::Not;
using google::protobuf::Struct;
using google::protobuf::Value;

CommandInvocation Invocation() {
  CommandInvocation inv;
  inv.run_id = "run-0123456789abcdef";
  inv.job_id = "job-fedcba9876543210";
  inv.argv = {"python", "train.py", "--fast"};
  inv.env = {{"MLOPS_RUN_ID", inv.run_id}, {"MLOPS_TOKEN", "secret"}, {"EXTRA", "1"}};
  inv.work_dir = "/var/lib/mlops/training-runs/run-0123456789abcdef";
  inv.timeout = std::chrono::milliseconds(1500);
  inv.image = "registry.example/trainer@sha256:abc";
  inv.memory = "4Gi";
  return inv;
}

K8sJobOptions JobOptions() {
  K8sJobOptions o;
  o.namespace_name = "ml";
  o.service_account = "mlops-trainer";
  o.work_pvc = "mlops-runs";
  return o;
}

Struct Parse(const std::string& json) {
  Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &s).ok()) << json;
  return s;
}

const Value& At(const Struct& s, std::initializer_list<std::string> path) {
  const Struct* cur = &s;
  const Value* v = nullptr;
  for (const std::string& k : path) {
    auto it = cur->fields().find(k);
    if (it == cur->fields().end()) {
      ADD_FAILURE() << "no field " << k;
      return Value::default_instance();
    }
    v = &it->second;
    cur = &v->struct_value();
  }
  return *v;
}

TEST(K8sManifestTest, JobHasImageCommandEnvResourcesDeadlineAndTheSharedVolume) {
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string json, BuildJobManifest(JobOptions(), Invocation()));
  const Struct job = Parse(json);
  EXPECT_EQ(At(job, {"apiVersion"}).string_value(), "batch/v1");
  EXPECT_EQ(At(job, {"kind"}).string_value(), "Job");
  EXPECT_EQ(At(job, {"metadata", "name"}).string_value(), "mlops-train-run-0123456789abcdef");
  EXPECT_EQ(At(job, {"metadata", "namespace"}).string_value(), "ml");
  EXPECT_EQ(At(job, {"metadata", "labels", "mlops.dev/run-id"}).string_value(), "run-0123456789abcdef");
  EXPECT_EQ(At(job, {"metadata", "labels", "mlops.dev/job-id"}).string_value(), "job-fedcba9876543210");
  EXPECT_EQ(At(job, {"spec", "backoffLimit"}).number_value(), 0);
  EXPECT_EQ(At(job, {"spec", "activeDeadlineSeconds"}).number_value(), 2);  // 1.5 s rounded up
  EXPECT_EQ(At(job, {"spec", "template", "metadata", "labels", "mlops.dev/run-id"}).string_value(), "run-0123456789abcdef");
  const Struct& pod = At(job, {"spec", "template", "spec"}).struct_value();
  EXPECT_EQ(At(pod, {"restartPolicy"}).string_value(), "Never");
  EXPECT_EQ(At(pod, {"serviceAccountName"}).string_value(), "mlops-trainer");
  ASSERT_EQ(At(pod, {"containers"}).list_value().values_size(), 1);
  const Struct& c = At(pod, {"containers"}).list_value().values(0).struct_value();
  EXPECT_EQ(At(c, {"image"}).string_value(), "registry.example/trainer@sha256:abc");
  std::vector<std::string> command;
  for (const Value& v : At(c, {"command"}).list_value().values()) command.push_back(v.string_value());
  EXPECT_THAT(command, ::testing::ElementsAre("python", "train.py", "--fast"));
  EXPECT_EQ(At(c, {"workingDir"}).string_value(), "/var/lib/mlops/training-runs/run-0123456789abcdef");
  std::map<std::string, std::string> env;
  for (const Value& v : At(c, {"env"}).list_value().values()) {
    env[At(v.struct_value(), {"name"}).string_value()] = At(v.struct_value(), {"value"}).string_value();
  }
  EXPECT_EQ(env.at("MLOPS_RUN_ID"), "run-0123456789abcdef");
  EXPECT_EQ(env.at("MLOPS_TOKEN"), "secret");
  EXPECT_EQ(env.at("EXTRA"), "1");
  EXPECT_EQ(At(c, {"resources", "requests", "cpu"}).string_value(), "1");  // the default
  EXPECT_EQ(At(c, {"resources", "limits", "memory"}).string_value(), "4Gi");
  const Struct& mount = At(c, {"volumeMounts"}).list_value().values(0).struct_value();
  EXPECT_EQ(At(mount, {"mountPath"}).string_value(), "/var/lib/mlops/training-runs");
  const Struct& volume = At(pod, {"volumes"}).list_value().values(0).struct_value();
  EXPECT_EQ(At(volume, {"name"}).string_value(), At(mount, {"name"}).string_value());
  EXPECT_EQ(At(volume, {"persistentVolumeClaim", "claimName"}).string_value(), "mlops-runs");
}

TEST(K8sManifestTest, TokenFromASecretAndBadOptions) {
  K8sJobOptions o = JobOptions();
  o.token_secret = "mlops-token";
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string json, BuildJobManifest(o, Invocation()));
  EXPECT_THAT(json, Not(HasSubstr("secret\"")));
  const Struct job = Parse(json);
  const Struct& c = At(job, {"spec", "template", "spec", "containers"}).list_value().values(0).struct_value();
  bool found = false;
  for (const Value& v : At(c, {"env"}).list_value().values()) {
    if (At(v.struct_value(), {"name"}).string_value() != "MLOPS_TOKEN") continue;
    found = true;
    EXPECT_EQ(v.struct_value().fields().count("value"), 0u);
    EXPECT_EQ(At(v.struct_value(), {"valueFrom", "secretKeyRef", "name"}).string_value(), "mlops-token");
    EXPECT_EQ(At(v.struct_value(), {"valueFrom", "secretKeyRef", "key"}).string_value(), "token");
  }
  EXPECT_TRUE(found);
  CommandInvocation no_image = Invocation();
  no_image.image.clear();
  EXPECT_THAT(BuildJobManifest(JobOptions(), no_image).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("image")));
  o.work_pvc.clear();
  EXPECT_THAT(BuildJobManifest(o, Invocation()).status(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(K8sManifestTest, ReadsJobConditionsAndPodExitCodes) {
  MLOPS_ASSERT_OK_AND_ASSIGN(K8sJobStatus s, ParseJobStatus(R"({"status":{"active":1}})"));
  EXPECT_EQ(s.phase, K8sJobPhase::kPending);
  MLOPS_ASSERT_OK_AND_ASSIGN(s, ParseJobStatus(R"({"status":{"succeeded":1,"conditions":[{"type":"Complete","status":"True"}]}})"));
  EXPECT_EQ(s.phase, K8sJobPhase::kSucceeded);
  MLOPS_ASSERT_OK_AND_ASSIGN(s, ParseJobStatus(R"({"status":{"conditions":[{"type":"Failed","status":"True","reason":"DeadlineExceeded","message":"Job was active longer than specified deadline"}]}})"));
  EXPECT_EQ(s.phase, K8sJobPhase::kDeadlineExceeded);
  MLOPS_ASSERT_OK_AND_ASSIGN(s, ParseJobStatus(R"({"status":{"conditions":[{"type":"Failed","status":"True","reason":"BackoffLimitExceeded"}]}})"));
  EXPECT_EQ(s.phase, K8sJobPhase::kFailed);
  EXPECT_EQ(s.reason, "BackoffLimitExceeded");
  EXPECT_THAT(ParseJobStatus("<html>").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  MLOPS_ASSERT_OK_AND_ASSIGN(std::vector<K8sPodState> pods, ParsePodList(R"({"items":[{"metadata":{"name":"p1"},
      "status":{"containerStatuses":[{"name":"trainer","state":{"terminated":{"exitCode":3,"reason":"Error"}}}]}}]})"));
  ASSERT_EQ(pods.size(), 1u);
  EXPECT_EQ(pods[0].name, "p1");
  EXPECT_TRUE(pods[0].terminated);
  EXPECT_EQ(pods[0].exit_code, 3);
}

class KubernetesExecutorTest : public ::testing::Test {
 protected:
  KubernetesExecutor Executor() {
    const std::string token_file = ::testing::TempDir() + "/k8s_token";
    std::ofstream(token_file) << "sa-token\n";
    KubernetesExecutorOptions o;
    o.job = JobOptions();
    o.api.server = api_.url();
    o.api.token_file = token_file;
    o.api.ca_file = "";
    o.poll_interval = std::chrono::milliseconds(20);
    o.deadline_margin = std::chrono::milliseconds(2000);
    o.log.backoff_initial = std::chrono::milliseconds(20);
    o.log_drain = std::chrono::milliseconds(3000);
    return KubernetesExecutor(o);
  }
  bool Requested(const std::string& prefix) {
    std::lock_guard<std::mutex> lock(api_.mu);
    for (const std::string& r : api_.requests) {
      if (r.rfind(prefix, 0) == 0) return true;
    }
    return false;
  }
  FakeK8sApi api_;
};

TEST_F(KubernetesExecutorTest, CreatesWatchesCollectsTheLogAndDeletesASucceededJob) {
  KubernetesExecutor executor = Executor();
  MLOPS_ASSERT_OK_AND_ASSIGN(CommandOutcome o, executor.Execute(Invocation(), nullptr, nullptr));
  EXPECT_TRUE(o.exited);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(DescribeFailure(o, Invocation().timeout), "");
  EXPECT_EQ(o.stdout_text, "epoch 1 loss 0.5\ndone\n");
  std::lock_guard<std::mutex> lock(api_.mu);
  EXPECT_EQ(api_.requests.front(), "POST /apis/batch/v1/namespaces/ml/jobs");
  EXPECT_EQ(std::count_if(api_.requests.begin(), api_.requests.end(),
                          [](const std::string& r) { return r.rfind("GET /apis/batch/v1/", 0) == 0; }),
            3);  // two active answers, then complete
  EXPECT_THAT(api_.requests.back(), HasSubstr("DELETE /apis/batch/v1/namespaces/ml/jobs/mlops-train-run-0123456789abcdef?propagationPolicy=Background"));
  EXPECT_THAT(api_.auth, ::testing::Each(std::string("Bearer sa-token")));
  EXPECT_EQ(At(Parse(api_.created_body), {"spec", "backoffLimit"}).number_value(), 0);
}

TEST_F(KubernetesExecutorTest, FailedJobReportsThePodsExitCode) {
  api_.final_status = R"({"status":{"failed":1,"conditions":[{"type":"Failed","status":"True","reason":"BackoffLimitExceeded","message":"Job has reached the specified backoff limit"}]}})";
  api_.exit_code = 3;
  KubernetesExecutor executor = Executor();
  MLOPS_ASSERT_OK_AND_ASSIGN(CommandOutcome o, executor.Execute(Invocation(), nullptr, nullptr));
  EXPECT_THAT(DescribeFailure(o, Invocation().timeout), ::testing::StartsWith("exit code 3 (BackoffLimitExceeded"));
  EXPECT_TRUE(Requested("DELETE "));
}

TEST_F(KubernetesExecutorTest, DeadlineExceededIsATimeout) {
  api_.final_status = R"({"status":{"failed":1,"conditions":[{"type":"Failed","status":"True","reason":"DeadlineExceeded","message":"Job was active longer than specified deadline"}]}})";
  KubernetesExecutor executor = Executor();
  MLOPS_ASSERT_OK_AND_ASSIGN(CommandOutcome o, executor.Execute(Invocation(), nullptr, nullptr));
  EXPECT_TRUE(o.timed_out);
  EXPECT_EQ(DescribeFailure(o, Invocation().timeout), "timeout: timed out after 1500ms");
}

TEST_F(KubernetesExecutorTest, StopRequestDeletesTheJob) {
  api_.pending_polls = 1000000;
  KubernetesExecutor executor = Executor();
  int polls = 0;
  MLOPS_ASSERT_OK_AND_ASSIGN(CommandOutcome o, executor.Execute(Invocation(), [&] { return ++polls > 3; }, nullptr));
  EXPECT_TRUE(o.stopped);
  EXPECT_EQ(DescribeFailure(o, Invocation().timeout), "cancelled");
  EXPECT_TRUE(Requested("DELETE /apis/batch/v1/namespaces/ml/jobs/mlops-train-run-0123456789abcdef"));
}

TEST_F(KubernetesExecutorTest, StuckJobIsGivenUpAfterItsDeadlineAndMargin) {
  api_.pending_polls = 1000000;
  KubernetesExecutor executor = Executor();
  CommandInvocation inv = Invocation();
  inv.timeout = std::chrono::milliseconds(200);
  MLOPS_ASSERT_OK_AND_ASSIGN(CommandOutcome o, executor.Execute(inv, nullptr, nullptr));
  EXPECT_TRUE(o.timed_out);
  EXPECT_THAT(DescribeFailure(o, inv.timeout), HasSubstr("did not end by its deadline"));
}

TEST_F(KubernetesExecutorTest, ForbiddenCreateAndUnreachableApiAreErrors) {
  api_.create_status = 403;
  KubernetesExecutor executor = Executor();
  EXPECT_THAT(executor.Execute(Invocation(), nullptr, nullptr).status(),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("jobs.batch is forbidden")));
  KubernetesExecutorOptions o;
  o.job = JobOptions();
  o.api.server = "http://127.0.0.1:1";
  o.api.token_file = "";
  KubernetesExecutor unreachable(o);
  EXPECT_THAT(unreachable.Execute(Invocation(), nullptr, nullptr).status(), StatusIs(absl::StatusCode::kUnavailable));
}

// Lines seen by the caller, with whether the pod had already ended then and
// on which thread they came.
struct SeenLines {
  std::mutex mu;
  std::vector<std::string> lines;
  bool after_pod_done = false;
  bool other_thread = false;
};

std::vector<std::pair<std::string, std::string>> TrainingLog() {
  return {{"2026-11-23T06:00:00.100000000Z", "epoch 1 loss 0.9"},
          {"2026-11-23T06:00:00.200000000Z", "epoch 2 loss 0.7"},
          {"2026-11-23T06:00:00.200000000Z", "epoch 2 eval auc 0.8"},  // the same timestamp
          {"2026-11-23T06:00:01.000000000Z", "epoch 3 loss 0.5"},
          {"2026-11-23T06:00:01.500000000Z", "done"}};
}

// The caller's line callback; the pod ends once the last line came.
CommandLineFn Recorder(SeenLines* seen, FakeK8sApi* api, const std::string& last) {
  const std::thread::id caller = std::this_thread::get_id();
  return [seen, api, last, caller](const std::string& stream, const std::string& line) {
    std::lock_guard<std::mutex> lock(seen->mu);
    EXPECT_EQ(stream, "stdout");
    seen->lines.push_back(line);
    if (api->pod_done) seen->after_pod_done = true;
    if (std::this_thread::get_id() != caller) seen->other_thread = true;
    if (line == last) api->pod_done = true;
  };
}

std::vector<std::string> Texts(const std::vector<std::pair<std::string, std::string>>& log) {
  std::vector<std::string> out;
  for (const auto& [ts, text] : log) out.push_back(text);
  return out;
}

TEST_F(KubernetesExecutorTest, FollowsThePodsLogWhileItRuns) {
  {
    std::lock_guard<std::mutex> lock(api_.mu);
    api_.streaming = true;
    api_.pending_polls = 0;
    api_.log = TrainingLog();
  }
  KubernetesExecutor executor = Executor();
  SeenLines seen;
  MLOPS_ASSERT_OK_AND_ASSIGN(CommandOutcome o, executor.Execute(Invocation(), nullptr, Recorder(&seen, &api_, "done")));
  EXPECT_TRUE(o.exited);
  EXPECT_EQ(o.exit_code, 0);
  // Every line came while the pod ran (the pod ends only once "done" came),
  // in order, on the caller's thread, pieces of 7 bytes joined into lines.
  EXPECT_THAT(seen.lines, ::testing::ElementsAreArray(Texts(TrainingLog())));
  EXPECT_FALSE(seen.after_pod_done);
  EXPECT_FALSE(seen.other_thread);
  // The kept log is the followed one, without timestamps; no second read.
  EXPECT_EQ(o.stdout_text, "epoch 1 loss 0.9\nepoch 2 loss 0.7\nepoch 2 eval auc 0.8\nepoch 3 loss 0.5\ndone\n");
  std::lock_guard<std::mutex> lock(api_.mu);
  // The stream that ended with the pod is followed by one from its last
  // line once the pod shows as ended (its lines all repeats, dropped).
  ASSERT_EQ(api_.follows.size(), 2u);
  EXPECT_THAT(api_.follows[0], HasSubstr("follow=true"));
  EXPECT_THAT(api_.follows[0], HasSubstr("timestamps=true"));
  EXPECT_THAT(api_.follows[1], HasSubstr("&sinceTime=2026-11-23T06:00:01Z"));
  EXPECT_EQ(std::count_if(api_.requests.begin(), api_.requests.end(),
                          [](const std::string& r) { return r.find("/log?") != std::string::npos; }),
            2);  // no whole-log read at the end
}

TEST_F(KubernetesExecutorTest, DroppedLogStreamResumesWithoutDuplicatesOrGaps) {
  std::size_t drop = 0;
  {
    std::lock_guard<std::mutex> lock(api_.mu);
    api_.streaming = true;
    api_.pending_polls = 0;
    api_.log = TrainingLog();
    // Cut inside the third line: two lines of the first second were handed
    // out, the second of them sharing its timestamp with the third.
    for (int i = 0; i < 2; ++i) drop += api_.log[i].first.size() + 1 + api_.log[i].second.size() + 1;
    api_.drop_after_bytes = drop + 10;
    api_.piece_bytes = 5;
  }
  KubernetesExecutor executor = Executor();
  SeenLines seen;
  MLOPS_ASSERT_OK_AND_ASSIGN(CommandOutcome o, executor.Execute(Invocation(), nullptr, Recorder(&seen, &api_, "done")));
  EXPECT_TRUE(o.exited);
  EXPECT_THAT(seen.lines, ::testing::ElementsAreArray(Texts(TrainingLog())));
  EXPECT_FALSE(seen.after_pod_done);
  EXPECT_EQ(o.stdout_text, "epoch 1 loss 0.9\nepoch 2 loss 0.7\nepoch 2 eval auc 0.8\nepoch 3 loss 0.5\ndone\n");
  std::lock_guard<std::mutex> lock(api_.mu);
  ASSERT_EQ(api_.follows.size(), 3u);  // cut, resumed, the final one
  EXPECT_THAT(api_.follows[0], Not(HasSubstr("sinceTime")));
  EXPECT_THAT(api_.follows[1], HasSubstr("&sinceTime=2026-11-23T06:00:00Z"));  // whole seconds
}

TEST_F(KubernetesExecutorTest, StopWhileTheLogIsSilentReturnsPromptly) {
  {
    std::lock_guard<std::mutex> lock(api_.mu);
    api_.streaming = true;
    api_.pending_polls = 0;
    api_.log = {{"2026-11-23T06:00:00.100000000Z", "loading data"}};  // then silence; the pod runs on
  }
  KubernetesExecutor executor = Executor();
  SeenLines seen;
  CommandLineFn record = Recorder(&seen, &api_, "never");
  std::atomic<bool> stop{false};
  std::chrono::steady_clock::time_point stop_at;
  const auto on_line = [&](const std::string& stream, const std::string& line) {
    record(stream, line);
    stop_at = std::chrono::steady_clock::now();
    stop = true;  // cancel once the first line came
  };
  MLOPS_ASSERT_OK_AND_ASSIGN(CommandOutcome o, executor.Execute(Invocation(), [&] { return stop.load(); }, on_line));
  const auto took = std::chrono::steady_clock::now() - stop_at;
  EXPECT_TRUE(stop);
  EXPECT_TRUE(o.stopped);
  EXPECT_THAT(seen.lines, ::testing::ElementsAre("loading data"));
  EXPECT_LT(took, std::chrono::seconds(2));  // the open follow request was interrupted
  EXPECT_TRUE(Requested("DELETE /apis/batch/v1/namespaces/ml/jobs/mlops-train-run-0123456789abcdef"));
}

TEST(PodLogLinesTest, SplitsPiecesStripsTimestampsAndSkipsWhatAReconnectRepeats) {
  PodLogLines lines;
  std::vector<std::string> got;
  const PodLogLines::LineFn emit = [&](std::string line) { got.push_back(std::move(line)); };
  EXPECT_EQ(lines.Resume(), "");  // nothing yet: from the start
  lines.Feed("2026-11-23T06:00:59.5Z a\n2026-11-23T06:01:00Z b\n2026-11-23T0", emit);
  lines.Feed("6:01:00Z c\n2026-11-23T06:01:00Z d", emit);
  EXPECT_THAT(got, ::testing::ElementsAre("a", "b", "c"));
  // The stream dropped inside "d": resume from the last line's second.
  EXPECT_EQ(lines.Resume(), "2026-11-23T06:01:00Z");
  lines.Feed("2026-11-23T06:01:00Z b\n2026-11-23T06:01:00Z c\n2026-11-23T06:01:00Z d\n", emit);
  lines.Feed("2026-11-23T06:01:01.25Z e\nno timestamp\r\n2026-11-23T06:01:02Z tail", emit);
  lines.Finish(emit);
  EXPECT_THAT(got, ::testing::ElementsAre("a", "b", "c", "d", "e", "no timestamp", "tail"));
  EXPECT_EQ(lines.lines(), 7);
}

// An API server that takes the connection but never answers: every request
// still ends by its request_timeout (the whole exchange is bounded, not only
// the connect).
TEST(K8sClientTest, ApiServerThatNeverAnswersTimesOut) {
  asio::io_context io;
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});  // never accepts
  K8sApiOptions o;
  o.server = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  o.token_file = "";
  o.request_timeout = std::chrono::milliseconds(300);
  K8sClient client(o);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(client.GetJob("ml", "mlops-train-x").status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("timed out")));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace mlops::training

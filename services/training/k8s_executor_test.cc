// The Kubernetes path of command trainers: the Job manifest's structure
// (golden fields), the reading of Job and pod statuses, and the executor
// against a fake Kubernetes API server on 127.0.0.1 (plain HTTP): create Job
// -> poll status -> succeeded / failed with the pod's exit code / deadline
// exceeded / stopped, the bearer token, the log kept, the Job deleted.
#include "services/training/k8s_executor.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

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

namespace mlops::training {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using ::testing::HasSubstr;
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

// A fake Kubernetes API: one thread, one request per connection. The Job
// answers `pending_polls` GETs with an active status, then `final_status`.
class FakeK8sApi {
 public:
  FakeK8sApi() : acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeK8sApi() {
    stop_ = true;
    boost::system::error_code ec;
    asio::ip::tcp::socket s(io_);
    s.connect(acceptor_.local_endpoint(), ec);  // wakes the accept
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }

  std::mutex mu;
  int pending_polls = 2;
  std::string final_status = R"({"status":{"succeeded":1,"conditions":[{"type":"Complete","status":"True"}]}})";
  int exit_code = 0;
  int create_status = 201;
  std::vector<std::string> requests;  // "METHOD target"
  std::vector<std::string> auth;
  std::string created_body;

 private:
  void Serve() {
    for (int i = 0; i < 10000 && !stop_; ++i) {  // bounded
      asio::ip::tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(socket, buffer, req, ec);
      if (ec) continue;
      http::response<http::string_body> res = Handle(req);
      res.version(11);
      res.set(http::field::content_type, "application/json");
      res.prepare_payload();
      http::write(socket, res, ec);
    }
  }

  http::response<http::string_body> Handle(const http::request<http::string_body>& req) {
    std::lock_guard<std::mutex> lock(mu);
    const std::string target(req.target());
    const std::string method(req.method_string());
    requests.push_back(method + " " + target);
    auth.push_back(std::string(req[http::field::authorization]));
    http::response<http::string_body> res;
    res.result(200);
    const std::string job_path = "/apis/batch/v1/namespaces/ml/jobs/mlops-train-run-0123456789abcdef";
    if (method == "POST" && target == "/apis/batch/v1/namespaces/ml/jobs") {
      created_body = req.body();
      res.result(create_status);
      res.body() = create_status == 403 ? R"({"kind":"Status","message":"jobs.batch is forbidden"})" : req.body();
    } else if (method == "GET" && target == job_path) {
      res.body() = pending_polls-- > 0 ? R"({"status":{"active":1}})" : final_status;
    } else if (method == "DELETE" && target.rfind(job_path, 0) == 0) {
      res.body() = R"({"kind":"Status","status":"Success"})";
    } else if (method == "GET" && target.find("/api/v1/namespaces/ml/pods?labelSelector=job-name%3Dmlops-train-run-") == 0) {
      res.body() = R"({"items":[{"metadata":{"name":"trainer-pod"},"status":{"containerStatuses":[{"name":"trainer",
          "state":{"terminated":{"exitCode":)" + std::to_string(exit_code) + (exit_code == 0 ? R"(,"reason":"Completed")" : R"(,"reason":"Error")") +
                   R"(}}}]}}]})";
    } else if (method == "GET" && target.rfind("/api/v1/namespaces/ml/pods/trainer-pod/log", 0) == 0) {
      res.body() = "epoch 1 loss 0.5\ndone\n";
    } else {
      res.result(404);
      res.body() = R"({"kind":"Status","message":"not found"})";
    }
    return res;
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

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

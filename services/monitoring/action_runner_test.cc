// ActionRunner against a tiny HTTP server on 127.0.0.1 (webhooks: success,
// retry after a 5xx, a timeout that blocks nothing) and fake training and
// gateway gRPC services (retrain and rollback requests, an UNIMPLEMENTED
// peer recorded as a failure).
#include "services/monitoring/action_runner.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "boost/asio.hpp"
#include "common/testing/grpc_test_server.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/monitoring/action_runner_test_util.h"
#include "services/monitoring/peer_action_clients.h"
#include "services/monitoring/webhook_client.h"

namespace mlops::monitoring {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Serves HTTP on 127.0.0.1: answers each request with the next scripted
// status (0 = never answer: the client times out). Records request bodies.
class TinyHttpServer {
 public:
  explicit TinyHttpServer(std::vector<int> statuses)
      : statuses_(std::move(statuses)), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~TinyHttpServer() {
    stop_ = true;
    // Wake the blocking accept with one last connection.
    boost::system::error_code ec;
    tcp::socket s(io_);
    s.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/hook";
  }
  std::vector<std::string> bodies() {
    absl::MutexLock lock(&mu_);
    return bodies_;
  }

 private:
  void Serve() {
    std::vector<tcp::socket> hung;  // kept open, never answered
    for (size_t i = 0; i <= statuses_.size() && !stop_; ++i) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      asio::streambuf buf;
      asio::read_until(socket, buf, "\r\n\r\n", ec);
      std::string data(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
      const size_t header_end = data.find("\r\n\r\n") + 4;
      const size_t cl = data.find("Content-Length: ");
      const size_t length = cl == std::string::npos ? 0 : std::stoul(data.substr(cl + 16));
      if (data.size() < header_end + length) {
        asio::read(socket, buf, asio::transfer_exactly(header_end + length - data.size()), ec);
        data.assign(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
      }
      {
        absl::MutexLock lock(&mu_);
        bodies_.push_back(data.substr(header_end));
      }
      const int status = i < statuses_.size() ? statuses_[i] : 200;
      if (status == 0) {
        hung.push_back(std::move(socket));
        continue;
      }
      const std::string reply = "HTTP/1.1 " + std::to_string(status) +
                                " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      asio::write(socket, asio::buffer(reply), ec);
    }
  }

  std::vector<int> statuses_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::vector<std::string> bodies_;
  std::thread thread_;
};

TEST(ActionRunnerTest, WebhookPostsTheAlertAsJson) {
  TinyHttpServer http({200});
  Results results;
  auto runner = Started(&results);
  v1::AlertPolicy policy;
  policy.add_actions()->mutable_webhook()->set_url(http.url());
  runner->Run(FiringAlert(), policy, false);
  std::vector<v1::ActionResult> r = results.Final("alert-7", 0);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.back().status(), v1::ACTION_STATUS_SUCCEEDED) << r.back().last_error();
  EXPECT_EQ(r.back().result(), "HTTP 200");
  EXPECT_EQ(r.back().attempts(), 1);
  EXPECT_EQ(r.back().kind(), v1::ACTION_KIND_WEBHOOK);
  ASSERT_EQ(http.bodies().size(), 1u);
  EXPECT_NE(http.bodies()[0].find("\"id\":\"alert-7\""), std::string::npos) << http.bodies()[0];
  EXPECT_NE(http.bodies()[0].find("ALERT_STATE_FIRING"), std::string::npos);
}

TEST(ActionRunnerTest, WebhookRetriesAfterServerError) {
  TinyHttpServer http({503, 200});
  Results results;
  auto runner = Started(&results);
  v1::AlertPolicy policy;
  policy.add_actions()->mutable_webhook()->set_url(http.url());
  runner->Run(FiringAlert(), policy, false);
  std::vector<v1::ActionResult> r = results.Final("alert-7", 0);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status(), v1::ACTION_STATUS_RETRYING);
  EXPECT_NE(r[0].last_error().find("HTTP 503"), std::string::npos);
  EXPECT_EQ(r[1].status(), v1::ACTION_STATUS_SUCCEEDED);
  EXPECT_EQ(r[1].attempts(), 2);
}

TEST(ActionRunnerTest, WebhookTimeoutBlocksNothingAndFailsAfterRetries) {
  TinyHttpServer http({0, 0});
  Results results;
  auto runner = Started(&results);
  v1::AlertPolicy policy;
  v1::WebhookAction* hook = policy.add_actions()->mutable_webhook();
  hook->set_url(http.url());
  hook->set_timeout_micros(200'000);
  hook->set_max_retries(1);
  const absl::Time start = absl::Now();
  runner->Run(FiringAlert(), policy, false);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(50));  // Run only queues
  std::vector<v1::ActionResult> r = results.Final("alert-7", 0);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].status(), v1::ACTION_STATUS_FAILED);
  EXPECT_EQ(r[1].attempts(), 2);
  EXPECT_NE(r[1].last_error().find("timed out"), std::string::npos) << r[1].last_error();
}

TEST(ActionRunnerTest, ResolveNotificationOnlyForSendResolved) {
  TinyHttpServer http({200});
  Results results;
  auto runner = Started(&results);
  v1::AlertPolicy policy;
  policy.add_actions()->mutable_retrain()->set_trigger_id("t");
  v1::WebhookAction* hook = policy.add_actions()->mutable_webhook();
  hook->set_url(http.url());
  hook->set_send_resolved(true);
  v1::Alert alert = FiringAlert();
  alert.set_state(v1::ALERT_STATE_RESOLVED);
  alert.add_actions();
  alert.add_actions();  // the two results of the firing
  runner->Run(alert, policy, true);
  std::vector<v1::ActionResult> r = results.Final("alert-7", 2);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.back().status(), v1::ACTION_STATUS_SUCCEEDED);
  EXPECT_TRUE(r.back().on_resolve());
  EXPECT_NE(http.bodies()[0].find("ALERT_STATE_RESOLVED"), std::string::npos);
}

class FakeTraining : public training::v1::TrainingService::Service {
 public:
  grpc::Status FireTrigger(grpc::ServerContext*, const training::v1::FireTriggerRequest* req,
                           training::v1::FireTriggerResponse* resp) override {
    absl::MutexLock lock(&mu_);
    last = *req;
    if (unimplemented) return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not built");
    training::v1::FiredTrigger* f = resp->add_results();
    f->set_trigger_name(req->trigger_name());
    f->set_outcome(training::v1::FIRE_OUTCOME_STARTED);
    f->set_job_id("job-1");
    return grpc::Status::OK;
  }
  absl::Mutex mu_;
  training::v1::FireTriggerRequest last;
  bool unimplemented = false;
};

class FakeGateway : public inference::v1::InferenceService::Service {
 public:
  grpc::Status Rollback(grpc::ServerContext*, const inference::v1::RollbackRequest* req,
                        inference::v1::Rollout* resp) override {
    absl::MutexLock lock(&mu_);
    last = *req;
    resp->set_rollout_id("rollout-9");
    return grpc::Status::OK;
  }
  absl::Mutex mu_;
  inference::v1::RollbackRequest last;
};

TEST(ActionRunnerTest, RetrainAndRollbackCallThePeersNamingTheAlert) {
  FakeTraining training;
  FakeGateway gateway;
  MLOPS_ASSERT_OK_AND_ASSIGN(auto server, GrpcTestServer::Start({&training, &gateway}));
  auto ctx = [] { return std::make_unique<grpc::ClientContext>(); };
  GrpcRetrainClient retrain(server->InProcessChannel(), ctx);
  GrpcRollbackClient rollback(server->InProcessChannel(), ctx);
  Results results;
  auto runner = Started(&results, &retrain, &rollback);
  v1::AlertPolicy policy;
  policy.add_actions()->mutable_retrain()->set_trigger_id("fraud_retrain");
  policy.add_actions()->mutable_rollback()->set_endpoint("fraud_ep");
  runner->Run(FiringAlert(), policy, false);

  std::vector<v1::ActionResult> r = results.Final("alert-7", 0);
  EXPECT_EQ(r.back().status(), v1::ACTION_STATUS_SUCCEEDED) << r.back().last_error();
  EXPECT_EQ(r.back().result(), "fraud_retrain: FIRE_OUTCOME_STARTED job-1");
  r = results.Final("alert-7", 1);
  EXPECT_EQ(r.back().status(), v1::ACTION_STATUS_SUCCEEDED) << r.back().last_error();
  EXPECT_EQ(r.back().result(), "rollout-9");
  {
    absl::MutexLock lock(&training.mu_);
    EXPECT_EQ(training.last.trigger_name(), "fraud_retrain");
    EXPECT_EQ(training.last.alert_id(), "alert-7");
    EXPECT_EQ(training.last.idempotency_key(), "alert-7");
    EXPECT_EQ(training.last.reason(),
              "monitoring alert alert-7 (fraud@3, policy drift): feature amount drift");
  }
  absl::MutexLock lock(&gateway.mu_);
  EXPECT_EQ(gateway.last.endpoint(), "fraud_ep");
  EXPECT_EQ(gateway.last.reason(),
            "monitoring alert alert-7 (fraud@3, policy drift): feature amount drift");
}

TEST(ActionRunnerTest, UnimplementedPeerAndMissingPeerAreRecordedFailures) {
  FakeTraining training;
  training.unimplemented = true;
  MLOPS_ASSERT_OK_AND_ASSIGN(auto server, GrpcTestServer::Start({&training}));
  GrpcRetrainClient retrain(server->InProcessChannel(),
                            [] { return std::make_unique<grpc::ClientContext>(); });
  Results results;
  auto runner = Started(&results, &retrain);
  v1::AlertPolicy policy;
  policy.add_actions()->mutable_retrain()->set_trigger_id("t");
  policy.add_actions()->mutable_rollback()->set_endpoint("ep");
  runner->Run(FiringAlert(), policy, false);
  std::vector<v1::ActionResult> r = results.Final("alert-7", 0);
  EXPECT_EQ(r.back().status(), v1::ACTION_STATUS_FAILED);
  EXPECT_EQ(r.back().attempts(), 1);  // not retried
  EXPECT_NE(r.back().last_error().find("UNIMPLEMENTED"), std::string::npos) << r.back().last_error();
  r = results.Final("alert-7", 1);
  EXPECT_EQ(r.back().status(), v1::ACTION_STATUS_FAILED);
  EXPECT_NE(r.back().last_error().find("no gateway peer"), std::string::npos);
}

TEST(WebhookUrlTest, ParsesAndRejects) {
  MLOPS_ASSERT_OK_AND_ASSIGN(HttpUrl u, ParseHttpUrl("http://hooks.local:8080/a/b?c=1"));
  EXPECT_EQ(u.host, "hooks.local");
  EXPECT_EQ(u.port, "8080");
  EXPECT_EQ(u.target, "/a/b?c=1");
  MLOPS_ASSERT_OK_AND_ASSIGN(u, ParseHttpUrl("http://h"));
  EXPECT_EQ(u.port, "80");
  EXPECT_EQ(u.target, "/");
  MLOPS_ASSERT_OK_AND_ASSIGN(u, ParseHttpUrl("https://h/x"));
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.port, "443");
  EXPECT_EQ(ParseHttpUrl("ftp://h/").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseHttpUrl("http://h:99999/").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mlops::monitoring

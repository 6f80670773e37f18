// A queue-driven service (QueueUnaryCall on the completion-queue API) served
// by GrpcServer over loopback: calls answered on the queue's thread and
// from other threads, the RPC-metrics interceptor on them (it asks
// IsCancelled), a shutdown with calls in flight, and busy polling.
#include <time.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics/rpc_metrics.h"
#include "common/server/grpc_server.h"
#include "common/server/queue_unary_call.h"
#include "common/testing/metric_values.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "grpcpp/create_channel.h"
#include "mlopstest/echo/v1/echo.grpc.pb.h"
#include "prometheus/registry.h"

namespace mlops {
namespace {

using ::mlopstest::echo::v1::EchoRequest;
using ::mlopstest::echo::v1::EchoResponse;
using ::mlopstest::echo::v1::EchoService;
using ::testing::Optional;

// Echo on the server's queues: answered at once on the queue's thread, or
// after sleep_ms from a thread of its own; fail_with_code fails the call.
class QueueEcho final : public EchoService::WithAsyncMethod_Echo<EchoService::Service>,
                        public QueueDrivenService {
 public:
  void StartServing(CompletionQueueThreads* queues) override {
    for (int q = 0; q < queues->size(); ++q) (new Call(this, queues->server_queue(q)))->Arm();
    started_ = true;
  }
  void StopServing() override {
    live_calls_.WaitUntilNone();
    stopped_ = true;
  }
  bool started() const { return started_; }
  bool stopped() const { return stopped_; }

 private:
  class Call final : public QueueUnaryCall<EchoRequest, EchoResponse> {
   public:
    Call(QueueEcho* service, grpc::ServerCompletionQueue* queue)
        : QueueUnaryCall(queue, &service->live_calls_), service_(service) {}

   private:
    void RequestCall() override {
      service_->RequestEcho(&ctx_, &request_, &responder_, queue(), queue(), this);
    }
    void Handle() override {
      if (request_.sleep_ms() == 0) {
        Reply();
        return;
      }
      std::thread([this] {
        std::this_thread::sleep_for(std::chrono::milliseconds(request_.sleep_ms()));
        Reply();
      }).detach();
    }
    void Renew() override { (new Call(service_, queue()))->Arm(); }
    void Reply() {
      if (request_.fail_with_code() != 0) {
        Answer(grpc::Status(static_cast<grpc::StatusCode>(request_.fail_with_code()), "asked to"),
               nullptr);
        return;
      }
      EchoResponse response;
      response.set_message(request_.message());
      Answer(grpc::Status::OK, &response);
    }

    QueueEcho* const service_;
  };

  LiveCalls live_calls_;
  std::atomic<bool> started_{false}, stopped_{false};
};

GrpcServerOptions Options(absl::Duration busy_poll = absl::ZeroDuration()) {
  GrpcServerOptions options;
  options.busy_poll = busy_poll;
  options.service_name = "queue_echo";
  options.host = "127.0.0.1";
  options.max_threads = 8;
  options.shutdown_grace = absl::Seconds(5);
  return options;
}

grpc::Status Echo(EchoService::Stub* stub, const EchoRequest& request, EchoResponse* response) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return stub->Echo(&ctx, request, response);
}

std::unique_ptr<EchoService::Stub> StubFor(const GrpcServer& server) {
  return EchoService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server.port()), grpc::InsecureChannelCredentials()));
}

// A call the server answers after `sleep_ms`, made from a thread of its own.
std::future<grpc::Status> SlowCall(EchoService::Stub* stub, int sleep_ms) {
  return std::async(std::launch::async, [stub, sleep_ms] {
    EchoRequest slow;
    slow.set_message("slow");
    slow.set_sleep_ms(sleep_ms);
    EchoResponse response;
    return Echo(stub, slow, &response);
  });
}

TEST(QueueDrivenServiceTest, AnswersConcurrentCallsAndRecordsTheirMetrics) {
  prometheus::Registry registry;
  RpcMetrics metrics(registry);
  QueueEcho service;
  MLOPS_ASSERT_OK_AND_ASSIGN(auto server, GrpcServer::Start(Options(), {&service}, &metrics));
  EXPECT_TRUE(service.started());
  auto stub = StubFor(*server);

  constexpr int kThreads = 8, kCalls = 50;
  std::vector<std::future<int>> wrong;
  for (int t = 0; t < kThreads; ++t) {
    wrong.push_back(std::async(std::launch::async, [&, t] {
      int bad = 0;
      for (int i = 0; i < kCalls; ++i) {
        EchoRequest request;
        request.set_message("t" + std::to_string(t) + "-" + std::to_string(i));
        if (i % 10 == 0) request.set_sleep_ms(5);  // answered from another thread
        EchoResponse response;
        if (!Echo(stub.get(), request, &response).ok() || response.message() != request.message()) {
          ++bad;
        }
      }
      return bad;
    }));
  }
  for (auto& w : wrong) EXPECT_EQ(w.get(), 0);
  EchoRequest failing;
  failing.set_fail_with_code(static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EchoResponse ignored;
  EXPECT_EQ(Echo(stub.get(), failing, &ignored).error_code(), grpc::StatusCode::NOT_FOUND);

  EXPECT_THAT(MetricValue(registry, "mlops_grpc_server_handled_total",
                          {{"grpc_method", "Echo"}, {"grpc_code", "OK"}}),
              Optional(kThreads * kCalls));
  EXPECT_THAT(MetricValue(registry, "mlops_grpc_server_handled_total",
                          {{"grpc_method", "Echo"}, {"grpc_code", "NOT_FOUND"}}),
              Optional(1));
}

TEST(QueueDrivenServiceTest, ShutdownLetsCallsInFlightFinishThenStopsTheService) {
  QueueEcho service;
  MLOPS_ASSERT_OK_AND_ASSIGN(auto server, GrpcServer::Start(Options(), {&service}, nullptr));
  auto stub = StubFor(*server);
  std::future<grpc::Status> in_flight = SlowCall(stub.get(), 300);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server->Shutdown();
  EXPECT_TRUE(in_flight.get().ok());
  EXPECT_TRUE(service.stopped());
  EchoResponse ignored;
  EXPECT_FALSE(Echo(stub.get(), EchoRequest(), &ignored).ok());  // nothing listens any more
}

TEST(QueueDrivenServiceTest, BusyPollingServesCallsAndShutsDownWithACallInFlight) {
  QueueEcho service;
  MLOPS_ASSERT_OK_AND_ASSIGN(auto server, GrpcServer::Start(Options(absl::Microseconds(200)), {&service}, nullptr));
  auto stub = StubFor(*server);
  for (int i = 0; i < 200; ++i) {
    EchoRequest request;
    request.set_message("m" + std::to_string(i));
    if (i % 50 == 0) request.set_sleep_ms(5);  // answered from another thread
    EchoResponse response;
    ASSERT_TRUE(Echo(stub.get(), request, &response).ok()) << i;
    ASSERT_EQ(response.message(), request.message());
  }
  std::future<grpc::Status> in_flight = SlowCall(stub.get(), 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  server->Shutdown();
  EXPECT_TRUE(in_flight.get().ok());
  EXPECT_TRUE(service.stopped());
}

double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

TEST(QueueDrivenServiceTest, BusyPollingSleepsOnceTheWindowAfterTheLastEventEnds) {
  QueueEcho service;
  MLOPS_ASSERT_OK_AND_ASSIGN(auto server, GrpcServer::Start(Options(absl::Milliseconds(2)), {&service}, nullptr));
  auto stub = StubFor(*server);
  EchoRequest request;
  request.set_message("once");
  EchoResponse response;
  ASSERT_TRUE(Echo(stub.get(), request, &response).ok());
  // Idle for 500 ms: a thread that kept polling would use about all of it.
  const double cpu0 = ProcessCpuSeconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_LT(ProcessCpuSeconds() - cpu0, 0.15);
}

}  // namespace
}  // namespace mlops

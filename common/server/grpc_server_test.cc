#include "common/server/grpc_server.h"

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "common/server/readiness_loop.h"
#include "common/testing/echo_service.h"
#include "common/peers/health_check.h"
#include "common/testing/metric_values.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "mlopstest/echo/v1/echo.grpc.pb.h"

namespace mlops {
namespace {

using ::grpc::health::v1::HealthCheckResponse;
using ::mlopstest::echo::v1::EchoRequest;
using ::mlopstest::echo::v1::EchoResponse;
using ::mlopstest::echo::v1::EchoService;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

constexpr char kEchoService[] = "mlopstest.echo.v1.EchoService";

GrpcServerOptions TestOptions() {
  GrpcServerOptions options;
  options.service_name = "echo";
  options.host = "127.0.0.1";
  options.port = 0;
  options.max_threads = 8;
  options.shutdown_grace = absl::Seconds(5);
  return options;
}

std::shared_ptr<grpc::Channel> ChannelTo(const GrpcServer& server) {
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(server.port()),
                             grpc::InsecureChannelCredentials());
}

grpc::Status CallEcho(const std::shared_ptr<grpc::Channel>& channel, const EchoRequest& request,
                      EchoResponse* response = nullptr) {
  EchoResponse ignored;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return EchoService::NewStub(channel)->Echo(&context, request,
                                             response ? response : &ignored);
}

// Lists services through the reflection service with a generic bidi call and
// hand-encoded protos (reflection.proto must not be compiled into a binary
// that links grpc++_reflection). Returns the raw response bytes.
std::string ReflectionListServices(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](intptr_t id) { return cq.Next(&tag, &ok) && tag == reinterpret_cast<void*>(id) && ok; };
  std::string out;
  call->StartCall(reinterpret_cast<void*>(1));
  if (step(1)) {
    const char request[] = {0x3a, 0x00};  // ServerReflectionRequest{list_services: ""}
    grpc::Slice slice(request, sizeof(request));
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, reinterpret_cast<void*>(2));
    if (step(2)) {
      grpc::ByteBuffer response;
      call->Read(&response, reinterpret_cast<void*>(3));
      if (step(3)) {
        std::vector<grpc::Slice> slices;
        (void)response.Dump(&slices);
        for (const grpc::Slice& s : slices) {
          out.append(reinterpret_cast<const char*>(s.begin()), s.size());
        }
      }
    }
  }
  context.TryCancel();
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(4));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return out;
}

class GrpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MLOPS_ASSERT_OK_AND_ASSIGN(server_, GrpcServer::Start(TestOptions(), {&service_}, &metrics_));
    channel_ = ChannelTo(*server_);
  }

  absl::StatusOr<HealthStatus> Health(const std::string& service = "") {
    return CheckHealth(channel_, service, absl::Seconds(5));
  }

  prometheus::Registry registry_;
  RpcMetrics metrics_{registry_};
  TestEchoService service_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(GrpcServerTest, BindsAFreePortAndNamesItsServices) {
  EXPECT_GT(server_->port(), 0);
  EXPECT_THAT(server_->service_names(), ElementsAre(kEchoService));
}

TEST_F(GrpcServerTest, HealthIsNotServingUntilSetServing) {
  EXPECT_THAT(Health(""), IsOkAndHolds(HealthCheckResponse::NOT_SERVING));
  EXPECT_THAT(Health(kEchoService), IsOkAndHolds(HealthCheckResponse::NOT_SERVING));
  EXPECT_THAT(Health("no.Such"), StatusIs(absl::StatusCode::kNotFound));
  server_->SetServing(true);
  EXPECT_THAT(Health(""), IsOkAndHolds(HealthCheckResponse::SERVING));
  EXPECT_THAT(Health(kEchoService), IsOkAndHolds(HealthCheckResponse::SERVING));
  server_->SetServing(false);
  EXPECT_THAT(Health(""), IsOkAndHolds(HealthCheckResponse::NOT_SERVING));
  EXPECT_THAT(Health(kEchoService), IsOkAndHolds(HealthCheckResponse::NOT_SERVING));
}

TEST_F(GrpcServerTest, ServesRpcsWhileNotServing) {
  // NOT_SERVING is advice to load balancers, not a gate: RPCs still run.
  EchoRequest request;
  request.set_message("hi");
  EchoResponse response;
  ASSERT_TRUE(CallEcho(channel_, request, &response).ok());
  EXPECT_EQ(response.message(), "hi");
}

TEST_F(GrpcServerTest, ReflectionListsTheRegisteredServices) {
  const std::string listing = ReflectionListServices(channel_);
  EXPECT_THAT(listing, HasSubstr(kEchoService));
  EXPECT_THAT(listing, HasSubstr("grpc.health.v1.Health"));
}

TEST_F(GrpcServerTest, RecordsRpcMetricsForServicesAndHealthChecks) {
  EchoRequest request;
  ASSERT_TRUE(CallEcho(channel_, request).ok());
  request.set_fail_with_code(7);  // PERMISSION_DENIED
  ASSERT_EQ(CallEcho(channel_, request).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Health("").ok());
  EXPECT_THAT(MetricValue(registry_, "mlops_grpc_server_handled_total",
                          {{"grpc_method", "Echo"}, {"grpc_code", "OK"}}),
              Optional(1.0));
  EXPECT_THAT(MetricValue(registry_, "mlops_grpc_server_handled_total",
                          {{"grpc_method", "Echo"}, {"grpc_code", "PERMISSION_DENIED"}}),
              Optional(1.0));
  EXPECT_THAT(MetricValue(registry_, "mlops_grpc_server_handled_total",
                          {{"grpc_service", "grpc.health.v1.Health"},
                           {"grpc_method", "Check"},
                           {"grpc_code", "OK"}}),
              Optional(1.0));
}

TEST_F(GrpcServerTest, RejectsMessagesOverTheLimit) {
  GrpcServerOptions options = TestOptions();
  options.max_message_bytes = 1024;
  TestEchoService service;
  MLOPS_ASSERT_OK_AND_ASSIGN(auto small, GrpcServer::Start(options, {&service}, nullptr));
  EchoRequest request;
  request.set_message(std::string(2048, 'x'));
  EXPECT_EQ(CallEcho(ChannelTo(*small), request).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  request.set_message(std::string(512, 'x'));
  EXPECT_TRUE(CallEcho(ChannelTo(*small), request).ok());
}

TEST_F(GrpcServerTest, PortInUseIsAClearError) {
  GrpcServerOptions options = TestOptions();
  options.port = server_->port();
  TestEchoService service;
  EXPECT_THAT(GrpcServer::Start(options, {&service}, nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("127.0.0.1:" + std::to_string(server_->port()))));
}

TEST(GrpcServerOptionsTest, RejectsBadOptions) {
  TestEchoService service;
  GrpcServerOptions options = TestOptions();
  options.port = 70000;
  EXPECT_THAT(GrpcServer::Start(options, {&service}, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("port")));
  options = TestOptions();
  options.max_threads = 1;
  EXPECT_THAT(GrpcServer::Start(options, {&service}, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_threads")));
  EXPECT_THAT(GrpcServer::Start(TestOptions(), {}, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(GrpcServerTest, ShutdownReportsNotServingToWatchersThenDrains) {
  server_->SetServing(true);
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::health::v1::HealthCheckRequest watch_request;
  auto watch = grpc::health::v1::Health::NewStub(channel_)->Watch(&watch_context, watch_request);
  HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  ASSERT_EQ(update.status(), HealthCheckResponse::SERVING);

  // An RPC in flight when shutdown starts completes normally.
  EchoRequest slow;
  slow.set_message("slow");
  slow.set_sleep_ms(300);
  std::future<grpc::Status> in_flight =
      std::async(std::launch::async, [&] { return CallEcho(channel_, slow); });
  for (int i = 0; i < 500 && service_.calls() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(service_.calls(), 1);

  const auto started = std::chrono::steady_clock::now();
  std::thread shutdown([this] { server_->Shutdown(); });
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);
  // A watcher that has seen NOT_SERVING goes away; open streams would
  // otherwise hold the drain until the grace deadline (next test).
  watch_context.TryCancel();
  watch->Finish();
  EXPECT_TRUE(in_flight.get().ok());
  shutdown.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4))
      << "drain waited for the whole grace period";

  server_->SetServing(true);  // ignored after shutdown
  EXPECT_FALSE(server_->serving());
  EXPECT_FALSE(CallEcho(channel_, slow).ok());  // nothing listens any more
}

TEST(GrpcServerShutdownTest, CancelsRpcsStillRunningAtTheGraceDeadline) {
  GrpcServerOptions options = TestOptions();
  options.shutdown_grace = absl::Milliseconds(300);
  TestEchoService service;
  MLOPS_ASSERT_OK_AND_ASSIGN(auto server, GrpcServer::Start(options, {&service}, nullptr));
  EchoRequest endless;
  endless.set_sleep_ms(60000);
  std::future<grpc::Status> in_flight = std::async(
      std::launch::async, [&] { return CallEcho(ChannelTo(*server), endless); });
  for (int i = 0; i < 500 && service.calls() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(service.calls(), 1);
  const auto started = std::chrono::steady_clock::now();
  server->Shutdown();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, std::chrono::milliseconds(290));
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_FALSE(in_flight.get().ok());
}

TEST_F(GrpcServerTest, ReadinessLoopTurnsHealthServingAfterStartupSucceeds) {
  std::atomic<int> attempts{0};
  ReadinessOptions readiness;
  readiness.initial_backoff = absl::Milliseconds(20);
  readiness.startup = [&] {
    return ++attempts < 3 ? absl::UnavailableError("database not reachable")
                          : absl::OkStatus();
  };
  ReadinessLoop loop(readiness, [this](bool s) { server_->SetServing(s); });
  EXPECT_THAT(Health(""), IsOkAndHolds(HealthCheckResponse::NOT_SERVING));
  loop.Start();
  MLOPS_ASSERT_OK(WaitForServing("127.0.0.1:" + std::to_string(server_->port()),
                                 absl::Seconds(10)));
  EXPECT_EQ(attempts.load(), 3);
  EXPECT_THAT(Health(kEchoService), IsOkAndHolds(HealthCheckResponse::SERVING));

  server_->BeginDrain();  // what RunService does on SIGTERM
  EXPECT_THAT(Health(""), IsOkAndHolds(HealthCheckResponse::NOT_SERVING));
  EXPECT_THAT(Health(kEchoService), IsOkAndHolds(HealthCheckResponse::NOT_SERVING));
  loop.Stop();
  server_->Shutdown();
}

}  // namespace
}  // namespace mlops

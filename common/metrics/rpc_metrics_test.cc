#include "common/metrics/rpc_metrics.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <map>
#include <memory>
#include <string>

#include "common/testing/echo_service.h"
#include "common/testing/grpc_test_server.h"
#include "common/testing/metric_values.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "mlopstest/echo/v1/echo.grpc.pb.h"

namespace mlops {
namespace {

using ::mlopstest::echo::v1::EchoRequest;
using ::mlopstest::echo::v1::EchoResponse;
using ::mlopstest::echo::v1::EchoService;
using ::testing::Optional;

constexpr char kService[] = "mlopstest.echo.v1.EchoService";
constexpr char kHandled[] = "mlops_grpc_server_handled_total";
constexpr char kSeconds[] = "mlops_grpc_server_handling_seconds";

TEST(SplitFullMethodNameTest, SplitsServiceAndMethod) {
  const RpcName name = SplitFullMethodName("/mlops.registry.v1.RegistryService/GetModel");
  EXPECT_EQ(name.service, "mlops.registry.v1.RegistryService");
  EXPECT_EQ(name.method, "GetModel");
}

TEST(SplitFullMethodNameTest, MalformedNamesBecomeUnknown) {
  for (const char* bad : {"", "/", "//", "/a/", "/a", "a/b", "//b", "/a/b/c"}) {
    const RpcName name = SplitFullMethodName(bad);
    EXPECT_EQ(name.service, "unknown") << bad;
    EXPECT_EQ(name.method, "unknown") << bad;
  }
}

TEST(GrpcCodeNameTest, NamesEveryCanonicalCode) {
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(99)), "UNKNOWN");
}

TEST(RpcMetricsTest, LookupReturnsTheSameHandlesForTheSameMethod) {
  prometheus::Registry registry;
  RpcMetrics metrics(registry);
  EXPECT_EQ(metrics.Lookup("/a.B/C"), metrics.Lookup("/a.B/C"));
  EXPECT_NE(metrics.Lookup("/a.B/C"), metrics.Lookup("/a.B/D"));
}

// The interceptor on a real (in-process) server with the synchronous API.
class RpcMetricsInterceptorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GrpcTestServerOptions options;
    options.metrics = &metrics_;
    MLOPS_ASSERT_OK_AND_ASSIGN(server_, GrpcTestServer::Start({&service_}, options));
    stub_ = EchoService::NewStub(server_->InProcessChannel());
  }

  grpc::Status Echo(const std::string& message, int fail_with_code = 0, int sleep_ms = 0,
                    int deadline_ms = 5000) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(deadline_ms));
    EchoRequest request;
    request.set_message(message);
    request.set_fail_with_code(fail_with_code);
    request.set_sleep_ms(sleep_ms);
    EchoResponse response;
    return stub_->Echo(&context, request, &response);
  }

  std::optional<double> Handled(const std::string& method, const std::string& code) {
    return MetricValue(registry_, kHandled,
                       {{"grpc_service", kService}, {"grpc_method", method}, {"grpc_code", code}});
  }
  std::optional<double> Value(const std::string& family, const std::string& method) {
    return MetricValue(registry_, family, {{"grpc_service", kService}, {"grpc_method", method}});
  }

  prometheus::Registry registry_;
  RpcMetrics metrics_{registry_};
  TestEchoService service_;
  std::unique_ptr<GrpcTestServer> server_;
  std::unique_ptr<EchoService::Stub> stub_;
};

TEST_F(RpcMetricsInterceptorTest, CountsSuccessfulAndFailingUnaryCallsByCode) {
  ASSERT_TRUE(Echo("a").ok());
  ASSERT_TRUE(Echo("b").ok());
  ASSERT_EQ(Echo("no such model", /*fail_with_code=*/5).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_EQ(Echo("bad row", /*fail_with_code=*/3).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_THAT(Handled("Echo", "OK"), Optional(2.0));
  EXPECT_THAT(Handled("Echo", "NOT_FOUND"), Optional(1.0));
  EXPECT_THAT(Handled("Echo", "INVALID_ARGUMENT"), Optional(1.0));
  EXPECT_EQ(Handled("Echo", "INTERNAL"), std::nullopt);  // no series for unseen codes
  EXPECT_THAT(Value("mlops_grpc_server_started_total", "Echo"), Optional(4.0));
  EXPECT_THAT(Value(kSeconds, "Echo"), Optional(4.0));  // histogram sample count
  EXPECT_THAT(Value("mlops_grpc_server_in_flight_rpcs", "Echo"), Optional(0.0));
}

TEST_F(RpcMetricsInterceptorTest, ObservesHandlingTime) {
  ASSERT_TRUE(Echo("slow", 0, /*sleep_ms=*/50).ok());
  const std::optional<double> sum =
      HistogramSum(registry_, kSeconds, {{"grpc_service", kService}, {"grpc_method", "Echo"}});
  ASSERT_TRUE(sum.has_value());
  EXPECT_GE(*sum, 0.045);
  EXPECT_LT(*sum, 5.0);
}

TEST_F(RpcMetricsInterceptorTest, CountsServerStreamingOncePerCall) {
  grpc::ClientContext context;
  EchoRequest request;
  request.set_count(3);
  auto reader = stub_->ServerStream(&context, request);
  EchoResponse response;
  int received = 0;
  while (reader->Read(&response)) ++received;
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(received, 3);
  EXPECT_THAT(Handled("ServerStream", "OK"), Optional(1.0));
  EXPECT_THAT(Value(kSeconds, "ServerStream"), Optional(1.0));
}

TEST_F(RpcMetricsInterceptorTest, CountsClientStreamingAndBidiWithTheirFinalCode) {
  {
    grpc::ClientContext context;
    EchoResponse response;
    auto writer = stub_->ClientStream(&context, &response);
    EchoRequest request;
    request.set_message("x");
    ASSERT_TRUE(writer->Write(request));
    ASSERT_TRUE(writer->Write(request));
    ASSERT_TRUE(writer->WritesDone());
    ASSERT_TRUE(writer->Finish().ok());
    EXPECT_EQ(response.message(), "xx");
  }
  {
    grpc::ClientContext context;
    auto stream = stub_->Bidi(&context);
    EchoRequest request;
    request.set_message("ok");
    ASSERT_TRUE(stream->Write(request));
    EchoResponse response;
    ASSERT_TRUE(stream->Read(&response));
    request.set_fail_with_code(10);  // ABORTED
    stream->Write(request);
    stream->WritesDone();
    while (stream->Read(&response)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::ABORTED);
  }
  EXPECT_THAT(Handled("ClientStream", "OK"), Optional(1.0));
  EXPECT_THAT(Handled("Bidi", "ABORTED"), Optional(1.0));
  EXPECT_THAT(Value("mlops_grpc_server_in_flight_rpcs", "Bidi"), Optional(0.0));
}

TEST_F(RpcMetricsInterceptorTest, CountsWhatTheClientSawWhenTheDeadlinePassesInTheHandler) {
  ASSERT_EQ(Echo("late", 0, /*sleep_ms=*/2000, /*deadline_ms=*/100).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  // The handler notices the cancellation and returns; the RPC is counted once
  // the server is done with it.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (Value("mlops_grpc_server_in_flight_rpcs", "Echo") != std::optional<double>(0.0) &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_THAT(Value("mlops_grpc_server_in_flight_rpcs", "Echo"), Optional(0.0));
  EXPECT_THAT(Value(kSeconds, "Echo"), Optional(1.0));
  // The handler returned OK, but the client got DEADLINE_EXCEEDED: that is counted.
  EXPECT_THAT(Handled("Echo", "DEADLINE_EXCEEDED"), Optional(1.0));
  EXPECT_EQ(Handled("Echo", "OK"), std::nullopt);
}

// A method its handler records: the interceptor leaves it alone (TestEchoService
// does not record, so nothing counts Echo), other methods are still counted,
// and what the handler records lands in the same series.
TEST(RpcMetricsRecordedByHandlerTest, InterceptorSkipsTheMethodAndTheHandlerRecordsIt) {
  prometheus::Registry registry;
  RpcMetrics metrics(registry);
  RpcMetrics::Method* echo = metrics.RecordedByHandler("/mlopstest.echo.v1.EchoService/Echo");
  EXPECT_EQ(echo, metrics.Lookup("/mlopstest.echo.v1.EchoService/Echo"));
  EXPECT_TRUE(RpcMetrics::IsRecordedByHandler(echo));
  EXPECT_FALSE(RpcMetrics::IsRecordedByHandler(metrics.Lookup("/mlopstest.echo.v1.EchoService/Bidi")));
  TestEchoService service;
  GrpcTestServerOptions options;
  options.metrics = &metrics;
  MLOPS_ASSERT_OK_AND_ASSIGN(auto server, GrpcTestServer::Start({&service}, options));
  auto stub = EchoService::NewStub(server->InProcessChannel());
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    EchoRequest request;
    request.set_message("x");
    EchoResponse response;
    ASSERT_TRUE(stub->Echo(&context, request, &response).ok());
  }
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    EchoRequest request;
    request.set_count(1);
    auto reader = stub->ServerStream(&context, request);
    EchoResponse response;
    while (reader->Read(&response)) {
    }
    ASSERT_TRUE(reader->Finish().ok());
  }
  EXPECT_EQ(service.calls(), 3);
  auto labels = [](const std::string& method) {
    return std::map<std::string, std::string>{{"grpc_service", kService}, {"grpc_method", method}};
  };
  EXPECT_THAT(MetricValue(registry, "mlops_grpc_server_started_total", labels("Echo")),
              Optional(0.0));
  EXPECT_THAT(MetricValue(registry, "mlops_grpc_server_started_total", labels("ServerStream")),
              Optional(1.0));

  // What a handler does: OnStart on arrival, OnFinish with the effective code.
  metrics.OnStart(echo);
  EXPECT_THAT(MetricValue(registry, "mlops_grpc_server_in_flight_rpcs", labels("Echo")),
              Optional(1.0));
  metrics.OnFinish(echo, RpcMetrics::EffectiveCode(nullptr, grpc::StatusCode::OK), 0.002);
  metrics.OnStart(echo);
  metrics.OnFinish(echo, RpcMetrics::EffectiveCode(nullptr, grpc::StatusCode::NOT_FOUND), 0.001);
  std::map<std::string, std::string> ok = labels("Echo");
  ok["grpc_code"] = "OK";
  EXPECT_THAT(MetricValue(registry, kHandled, ok), Optional(1.0));
  ok["grpc_code"] = "NOT_FOUND";
  EXPECT_THAT(MetricValue(registry, kHandled, ok), Optional(1.0));
  EXPECT_THAT(MetricValue(registry, kSeconds, labels("Echo")), Optional(2.0));
  EXPECT_THAT(MetricValue(registry, "mlops_grpc_server_in_flight_rpcs", labels("Echo")),
              Optional(0.0));
}

TEST_F(RpcMetricsInterceptorTest, UnknownMethodsDoNotCreateSeriesPerName) {
  grpc::GenericStub generic(server_->InProcessChannel());
  for (const char* method : {"/mlopstest.echo.v1.EchoService/Nope", "/no.Such/Method"}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Slice empty(std::string{});
    grpc::ByteBuffer request(&empty, 1);  // an empty EchoRequest
    grpc::ByteBuffer response;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    generic.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                      [&](grpc::Status s) {
                        std::lock_guard<std::mutex> lock(mu);
                        status = std::move(s);
                        done = true;
                        cv.notify_one();
                      });
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return done; }));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << method;
  }
  EXPECT_EQ(MetricValue(registry_, kHandled, {{"grpc_method", "Nope"}}), std::nullopt);
  EXPECT_EQ(MetricValue(registry_, kHandled, {{"grpc_service", "no.Such"}}), std::nullopt);
  // gRPC gives the interceptor no method name for them: one bounded series.
  EXPECT_THAT(MetricValue(registry_, kHandled,
                          {{"grpc_service", "unknown"},
                           {"grpc_method", "unknown"},
                           {"grpc_code", "UNIMPLEMENTED"}}),
              Optional(2.0));
}

}  // namespace
}  // namespace mlops

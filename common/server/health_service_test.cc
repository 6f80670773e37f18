// HealthService (grpc.health.v1 on the sync API) over an in-process channel:
// Check, and Watch through a status change and the client going away.
#include "common/server/health_service.h"

#include <chrono>
#include <memory>
#include <thread>

#include "common/testing/grpc_test_server.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

namespace hv1 = ::grpc::health::v1;

class HealthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MLOPS_ASSERT_OK_AND_ASSIGN(server_, GrpcTestServer::Start({&health_}));
    stub_ = hv1::Health::NewStub(server_->InProcessChannel());
  }
  grpc::Status Check(const std::string& service, hv1::HealthCheckResponse* response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    hv1::HealthCheckRequest request;
    request.set_service(service);
    return stub_->Check(&ctx, request, response);
  }

  HealthService health_;
  std::unique_ptr<GrpcTestServer> server_;
  std::unique_ptr<hv1::Health::Stub> stub_;
};

TEST_F(HealthServiceTest, CheckAnswersSetServicesAndNotFoundForOthers) {
  health_.SetServingStatus("", true);
  health_.SetServingStatus("pkg.Svc", false);
  hv1::HealthCheckResponse response;
  ASSERT_TRUE(Check("", &response).ok());
  EXPECT_EQ(response.status(), hv1::HealthCheckResponse::SERVING);
  ASSERT_TRUE(Check("pkg.Svc", &response).ok());
  EXPECT_EQ(response.status(), hv1::HealthCheckResponse::NOT_SERVING);
  grpc::Status unknown = Check("no.Such", &response);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(unknown.error_message().find("no.Such"), std::string::npos);
}

TEST_F(HealthServiceTest, WatchSendsTheStatusThenEachChangeUntilTheClientGoes) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  hv1::HealthCheckRequest request;
  request.set_service("pkg.Svc");
  auto watch = stub_->Watch(&ctx, request);
  hv1::HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), hv1::HealthCheckResponse::SERVICE_UNKNOWN);
  health_.SetServingStatus("pkg.Svc", true);
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), hv1::HealthCheckResponse::SERVING);
  health_.SetServingStatus("other.Svc", false);  // not watched: no update
  health_.SetServingStatus("pkg.Svc", false);
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), hv1::HealthCheckResponse::NOT_SERVING);

  const auto cancelled = std::chrono::steady_clock::now();
  ctx.TryCancel();
  EXPECT_FALSE(watch->Read(&update));
  watch->Finish();
  // The handler notices within kCancelCheck; the server's shutdown (in
  // TearDown) would otherwise wait for it.
  server_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled, std::chrono::seconds(2));
}

}  // namespace
}  // namespace mlops

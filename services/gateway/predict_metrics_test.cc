// Predict records its own RPC metrics (RpcMetrics::RecordedByHandler) so
// that its calls run without gRPC interception: the series are the ones the
// interceptor writes for every other method (dashboards and alerts read
// mlops_grpc_server_*{grpc_method="Predict"}), with the code the client saw.
#include <map>
#include <string>

#include "common/auth/authorizer.h"
#include "common/metrics/rpc_metrics.h"
#include "common/testing/grpc_test_server.h"
#include "common/testing/metric_values.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/gateway/gateway_service.h"
#include "services/gateway/registry_client.h"
#include "services/gateway/rollout_convert.h"
#include "services/gateway/testing/fake_peers.h"
#include "services/gateway/testing/memory_endpoint_store.h"

namespace mlops::gateway {
namespace {

namespace iv1 = ::mlops::inference::v1;
using ::testing::Optional;

constexpr char kService[] = "mlops.inference.v1.InferenceService";

std::map<std::string, std::string> Labels(const std::string& method, const std::string& code = "") {
  std::map<std::string, std::string> labels{{"grpc_service", kService}, {"grpc_method", method}};
  if (!code.empty()) labels["grpc_code"] = code;
  return labels;
}

TEST(PredictMetricsTest, PredictRecordsTheInterceptorsSeriesItself) {
  testing::FakeRegistry registry;
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string model, testing::TrainTestModel(4, 10, 3, 1));
  registry.AddVersion("fraud", 1, model, testing::TestSignature(4), true);
  registry.SetEndpoint("fraud_ep", "fraud");
  MLOPS_ASSERT_OK_AND_ASSIGN(auto registry_server,
                             testing::LoopbackServer::Start({&registry}, "registry"));
  RegistryClient client(registry_server->peer(), "gw");
  XgbModelLoader loader;
  ModelCache cache(&client, &loader, 4, [] { return int64_t{1}; });
  testing::MemoryEndpointStore store;
  EndpointManagerOptions eo;
  eo.now_micros = [] { return int64_t{1}; };
  eo.parse_plan = PlanFromSpecBytes;
  EndpointManager endpoints(&cache, &client, &client, &store, nullptr, eo);
  PredictorOptions po;
  po.now_micros = [] { return int64_t{1}; };
  Predictor predictor(&endpoints, nullptr, nullptr, nullptr, po);
  Authorizer authorizer = Authorizer::Disabled();
  prometheus::Registry prom;
  RpcMetrics rpc_metrics(prom);
  InferenceServiceImpl service(&predictor, &endpoints, &authorizer, "gw", nullptr, nullptr,
                               &rpc_metrics);
  GrpcTestServerOptions options;
  options.metrics = &rpc_metrics;
  MLOPS_ASSERT_OK_AND_ASSIGN(auto server, GrpcTestServer::Start({&service}, options));
  auto stub = iv1::InferenceService::NewStub(server->InProcessChannel());

  iv1::PredictRequest good;
  good.set_endpoint("fraud_ep");
  for (int i = 0; i < 4; ++i) good.add_feature_names("f" + std::to_string(i));
  auto* values = good.add_rows()->mutable_features();
  for (int i = 0; i < 4; ++i) values->add_values()->set_double_value(0.5);
  iv1::PredictRequest unknown = good;
  unknown.set_endpoint("no_such_ep");
  for (const iv1::PredictRequest* req : {&good, &good, &unknown}) {
    grpc::ClientContext ctx;
    iv1::PredictResponse resp;
    grpc::Status s = stub->Predict(&ctx, *req, &resp);
    EXPECT_EQ(s.error_code(), req == &good ? grpc::StatusCode::OK
                                           : grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext ctx;
    iv1::ListEndpointsResponse resp;
    EXPECT_TRUE(stub->ListEndpoints(&ctx, iv1::ListEndpointsRequest(), &resp).ok());
  }

  EXPECT_TRUE(RpcMetrics::IsRecordedByHandler(
      rpc_metrics.Lookup("/mlops.inference.v1.InferenceService/Predict")));
  EXPECT_THAT(MetricValue(prom, "mlops_grpc_server_started_total", Labels("Predict")),
              Optional(3.0));
  EXPECT_THAT(MetricValue(prom, "mlops_grpc_server_handled_total", Labels("Predict", "OK")),
              Optional(2.0));
  EXPECT_THAT(MetricValue(prom, "mlops_grpc_server_handled_total",
                          Labels("Predict", "INVALID_ARGUMENT")),
              Optional(1.0));
  EXPECT_THAT(MetricValue(prom, "mlops_grpc_server_handling_seconds", Labels("Predict")),
              Optional(3.0));
  EXPECT_THAT(MetricValue(prom, "mlops_grpc_server_in_flight_rpcs", Labels("Predict")),
              Optional(0.0));
  // The synchronous methods are still recorded by the interceptor.
  EXPECT_THAT(MetricValue(prom, "mlops_grpc_server_handled_total", Labels("ListEndpoints", "OK")),
              Optional(1.0));
}

}  // namespace
}  // namespace mlops::gateway

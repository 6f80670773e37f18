// Hot swap under load: 4 threads predict without pause while the endpoint
// switches versions 10 times (blue-green, each completed by the analyzer)
// with a model cache of one entry, so every switch evicts a model that
// requests in flight still hold. Not one request may fail. Also: an artifact
// that fails its sha256 check makes the endpoint FAILED_PRECONDITION.
#include <atomic>
#include <thread>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/gateway/deployment_watcher.h"
#include "services/gateway/predictor.h"
#include "services/gateway/registry_client.h"
#include "services/gateway/rollout_convert.h"
#include "services/gateway/testing/fake_peers.h"
#include "services/gateway/testing/memory_endpoint_store.h"

namespace mlops::gateway {
namespace {

namespace iv1 = ::mlops::inference::v1;
namespace rv1 = ::mlops::registry::v1;

class HotSwapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int v = 1; v <= 2; ++v) {
      MLOPS_ASSERT_OK_AND_ASSIGN(std::string m, testing::TrainTestModel(4, 20, 4, v));
      registry_.AddVersion("fraud", v, m, testing::TestSignature(4), v == 1);
    }
    registry_.SetEndpoint("fraud_ep", "fraud");
    MLOPS_ASSERT_OK_AND_ASSIGN(registry_server_, testing::LoopbackServer::Start({&registry_}, "registry"));
    MLOPS_ASSERT_OK_AND_ASSIGN(features_server_, testing::LoopbackServer::Start({&features_}, "features"));
    client_ = std::make_unique<RegistryClient>(registry_server_->peer(), "gw");
    cache_ = std::make_unique<ModelCache>(client_.get(), &loader_, 1, [] { return int64_t{1}; });
    EndpointManagerOptions eo;
    eo.now_micros = [] { return int64_t{1}; };
    eo.parse_plan = PlanFromSpecBytes;
    endpoints_ = std::make_unique<EndpointManager>(cache_.get(), client_.get(), client_.get(), &store_,
                                                   nullptr, eo);
    PredictorOptions po;
    po.now_micros = [] { return int64_t{1}; };
    po.default_timeout_micros = 5'000'000;
    predictor_ = std::make_unique<Predictor>(endpoints_.get(), features_server_->peer(), nullptr,
                                             nullptr, po);
    // SetRollout's rollouts come back through the registry's stream.
    watcher_ = std::make_unique<DeploymentWatcher>(registry_server_->peer(), endpoints_.get(), "gw",
                                                   [] { return int64_t{1}; });
    watcher_->Start();
  }
  void TearDown() override { watcher_.reset(); }

  testing::FakeRegistry registry_;
  testing::FakeFeatures features_;
  std::unique_ptr<testing::LoopbackServer> registry_server_, features_server_;
  std::unique_ptr<RegistryClient> client_;
  XgbModelLoader loader_;
  std::unique_ptr<ModelCache> cache_;
  testing::MemoryEndpointStore store_;
  std::unique_ptr<EndpointManager> endpoints_;
  std::unique_ptr<Predictor> predictor_;
  std::unique_ptr<DeploymentWatcher> watcher_;
};

TEST_F(HotSwapTest, TenSwitchesUnderConcurrentLoadFailNoRequest) {
  iv1::PredictRequest req;
  req.set_endpoint("fraud_ep");
  for (int i = 0; i < 8; ++i) req.add_rows()->mutable_entity_key()->set_int64_value(i);
  MLOPS_ASSERT_OK(predictor_->Predict(req, std::chrono::system_clock::time_point::max()).status());
  std::atomic<bool> stop{false};
  std::atomic<long> ok{0}, failed{0};
  std::atomic<int> versions_seen{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop) {
        absl::StatusOr<iv1::PredictResponse> r =
            predictor_->Predict(req, std::chrono::system_clock::time_point::max());
        if (r.ok() && r->predictions_size() == 8) {
          ++ok;
          versions_seen |= 1 << r->predictions(0).version();
        } else {
          ++failed;
        }
      }
    });
  }
  int64_t version = 1;
  for (int swap = 0; swap < 10; ++swap) {
    const int64_t next = version == 1 ? 2 : 1;
    StartRollout start;
    start.endpoint = "fraud_ep";
    start.candidate_version = next;
    start.plan.strategy = Strategy::kBlueGreen;
    rv1::RolloutSpec spec;
    spec.set_strategy(rv1::ROLLOUT_STRATEGY_BLUE_GREEN);
    start.spec_bytes = spec.SerializeAsString();
    start.reason = "swap";
    absl::StatusOr<SetRolloutResult> set = endpoints_->SetRollout(start);
    ASSERT_THAT(set.status(), IsOk()) << swap;
    ASSERT_TRUE(set->applied) << swap;
    endpoints_->Tick();  // completes: the candidate becomes the primary
    ASSERT_EQ(endpoints_->Find("fraud_ep")->primary->info.version, next);
    version = next;
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  stop = true;
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 10);
  EXPECT_EQ(versions_seen.load(), (1 << 1) | (1 << 2));
}

TEST_F(HotSwapTest, CorruptArtifactMakesTheEndpointFailedPrecondition) {
  registry_.CorruptArtifacts(true);
  iv1::PredictRequest req;
  req.set_endpoint("fraud_ep");
  req.add_rows()->mutable_entity_key()->set_int64_value(1);
  absl::Status s = predictor_->Predict(req, std::chrono::system_clock::time_point::max()).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::HasSubstr("sha256 mismatch")));
  EXPECT_TRUE(registry_.events().empty());  // no rollout: LOAD_FAILED needs a rollout id
}

}  // namespace
}  // namespace mlops::gateway

#pragma once
// The gateway stack over a real Postgres (PgTest) and real gRPC: fake
// registry, feature and monitoring services on loopback ports, the gateway's
// own service in process. A test clock drives the rollout analysis; Restart()
// rebuilds the gateway on the same database (a restarted replica). The
// gateway follows the fake registry's WatchDeployments, which echoes every
// accepted SetRollout (MANUAL_ROLLOUT) as the registry does. Versions
// listed in `flaky_versions` load normally but fail every prediction.

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "common/auth/authorizer.h"
#include "common/db/migrations.h"
#include "common/testing/grpc_test_server.h"
#include "common/testing/pg_test_db.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "mlops_migrations/gateway_migrations.h"
#include "prometheus/registry.h"
#include "absl/strings/str_format.h"
#include "services/gateway/batch_scoring.h"
#include "services/gateway/deployment_watcher.h"
#include "services/gateway/gateway_service.h"
#include "services/gateway/ingestion_client.h"
#include "services/gateway/pg_batch_job_store.h"
#include "services/gateway/pg_endpoint_store.h"
#include "services/gateway/registry_client.h"
#include "services/gateway/rollout_convert.h"
#include "services/gateway/testing/fake_peers.h"

namespace mlops::gateway::testing {

constexpr int kCols = 4;
constexpr int64_t kT0 = 1'800'000'000'000'000;
constexpr int64_t kSecond = 1'000'000;

class FailingModel final : public Model {
 public:
  absl::StatusOr<xgb::Prediction> Predict(const float*, std::size_t rows, std::size_t) const override {
    if (rows == 1) {  // the warm-up passes
      xgb::Prediction p;
      p.values = {0.5f};
      p.rows = 1;
      return p;
    }
    return absl::InternalError("injected prediction failure");
  }
  std::string runtime() const override { return "failing"; }
};

// A real model that counts the explanations asked of it.
class CountingModel final : public Model {
 public:
  CountingModel(std::unique_ptr<Model> real, std::atomic<int>* explains)
      : real_(std::move(real)), explains_(explains) {}
  absl::StatusOr<xgb::Prediction> Predict(const float* values, std::size_t rows,
                                          std::size_t cols) const override {
    return real_->Predict(values, rows, cols);
  }
  absl::StatusOr<xgb::Contributions> Explain(const float* values, std::size_t rows,
                                             std::size_t cols) const override {
    explains_->fetch_add(1);
    return real_->Explain(values, rows, cols);
  }
  std::string runtime() const override { return real_->runtime(); }

 private:
  std::unique_ptr<Model> real_;
  std::atomic<int>* explains_;
};

class FlakyLoader final : public ModelLoader {
 public:
  absl::StatusOr<std::unique_ptr<Model>> Load(const ModelVersionInfo& info,
                                              std::string_view bytes) const override {
    if (flaky_versions.count(info.version) > 0) return std::unique_ptr<Model>(new FailingModel());
    absl::StatusOr<std::unique_ptr<Model>> real = real_.Load(info, bytes);
    if (!real.ok()) return real.status();
    return std::unique_ptr<Model>(new CountingModel(std::move(*real), &explains));
  }
  std::set<int64_t> flaky_versions;
  mutable std::atomic<int> explains{0};  // Explain calls on every loaded model

 private:
  XgbModelLoader real_;
};

struct GatewayStack {
  std::unique_ptr<RegistryClient> registry;
  std::unique_ptr<ModelCache> cache;
  std::unique_ptr<PgEndpointStore> store;
  std::unique_ptr<prometheus::Registry> prom;
  std::unique_ptr<GatewayMetrics> metrics;
  std::unique_ptr<EndpointManager> endpoints;
  std::unique_ptr<PredictionLogger> logger;
  std::unique_ptr<Predictor> predictor;
  std::unique_ptr<InferenceServiceImpl> service;
  std::unique_ptr<GrpcTestServer> server;
  std::unique_ptr<inference::v1::InferenceService::Stub> stub;
  // Batch scoring, when the test gave an ingestion service (destroyed first:
  // the worker stops before the rest).
  std::unique_ptr<RegistryClient> batch_registry;
  std::unique_ptr<ModelCache> batch_models;
  std::unique_ptr<IngestionClient> ingestion;
  std::unique_ptr<PgBatchJobStore> batch_store;
  std::unique_ptr<BatchScoring> batch;
  // Follows the fake registry's WatchDeployments (SetRollout's rollouts come
  // back through it); destroyed first.
  std::unique_ptr<DeploymentWatcher> watcher;
};

class GatewayPgTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    PgPoolOptions o;
    o.search_path = "gateway";
    pool_ = MakePool(o);
    ASSERT_THAT(RunMigrations(*pool_, "gateway", EmbeddedMigrations()).status(), IsOk());
    for (int v = 1; v <= 3; ++v) {
      MLOPS_ASSERT_OK_AND_ASSIGN(models_[v], TrainTestModel(kCols, 20, 4, static_cast<unsigned>(v)));
      registry_.AddVersion("fraud", v, models_[v], TestSignature(kCols), v == 1);
    }
    registry_.SetEndpoint("fraud_ep", "fraud");
    registry_.SetEndpoint("empty_ep", "nothing");
    MLOPS_ASSERT_OK_AND_ASSIGN(registry_server_, LoopbackServer::Start({&registry_}, "registry"));
    MLOPS_ASSERT_OK_AND_ASSIGN(features_server_, LoopbackServer::Start({&features_}, "features"));
    MLOPS_ASSERT_OK_AND_ASSIGN(monitoring_server_,
                               LoopbackServer::Start({&monitoring_}, "monitoring"));
    Build();
  }
  void TearDown() override {
    stack_.reset();
    monitoring_server_.reset();
    features_server_.reset();
    registry_server_.reset();
    pool_.reset();
    PgTest::TearDown();
  }

  void Build() {
    auto s = std::make_unique<GatewayStack>();
    s->registry = std::make_unique<RegistryClient>(registry_server_->peer(), "gw-test");
    s->cache = std::make_unique<ModelCache>(s->registry.get(), &loader_, 8, [this] { return now_.load(); });
    s->store = std::make_unique<PgEndpointStore>(pool_.get());
    s->prom = std::make_unique<prometheus::Registry>();
    s->metrics = std::make_unique<GatewayMetrics>(s->prom.get());
    EndpointManagerOptions eo;
    eo.now_micros = [this] { return now_.load(); };
    eo.parse_plan = PlanFromSpecBytes;
    s->endpoints = std::make_unique<EndpointManager>(s->cache.get(), s->registry.get(),
                                                     s->registry.get(), s->store.get(),
                                                     s->metrics.get(), eo);
    PredictionLoggerOptions lo;
    lo.flush_interval = std::chrono::milliseconds(20);
    lo.capacity = 5000;
    GatewayMetrics* m = s->metrics.get();
    s->logger = std::make_unique<PredictionLogger>(
        monitoring_server_->peer(), lo, [m](int64_t n) { m->LogDropped(n); },
        [m](int64_t n) { m->LogSent(n); });
    s->logger->Start();
    PredictorOptions po;
    po.now_micros = [this] { return now_.load(); };
    po.default_timeout_micros = 2'000'000;
    s->predictor = std::make_unique<Predictor>(s->endpoints.get(), features_server_->peer(),
                                               s->logger.get(), s->metrics.get(), po);
    authorizer_ = Authorizer::Disabled();
    if (ingestion_peer_ != nullptr) BuildBatch(*s);
    s->service = std::make_unique<InferenceServiceImpl>(s->predictor.get(), s->endpoints.get(),
                                                        &authorizer_, "gw-test", nullptr,
                                                        s->batch.get());
    ASSERT_THAT(s->endpoints->Restore(), IsOk());
    s->watcher = std::make_unique<DeploymentWatcher>(registry_server_->peer(), s->endpoints.get(),
                                                     "gw-test", [this] { return now_.load(); });
    s->watcher->Start();
    MLOPS_ASSERT_OK_AND_ASSIGN(s->server, GrpcTestServer::Start({s->service.get()}));
    s->stub = inference::v1::InferenceService::NewStub(s->server->InProcessChannel());
    stack_ = std::move(s);
  }
  void BuildBatch(GatewayStack& s) {
    s.batch_registry = std::make_unique<RegistryClient>(
        registry_server_->peer(), "gw-test", registry::v1::ARTIFACT_READ_PURPOSE_BATCH_SCORING);
    s.batch_models = std::make_unique<ModelCache>(s.batch_registry.get(), &loader_, 2,
                                                  [this] { return now_.load(); });
    s.ingestion = std::make_unique<IngestionClient>(ingestion_peer_);
    s.batch_store = std::make_unique<PgBatchJobStore>(pool_.get());
    BatchScoringOptions bo;
    bo.runner.now_micros = [] {  // real time: rows/s is measured
      return std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
    bo.new_job_id = [this] { return absl::StrFormat("bsj-%016x", ++next_job_); };
    bo.runner.features = batch_features_;
    s.batch = std::make_unique<BatchScoring>(s.batch_models.get(), s.batch_registry.get(),
                                             s.ingestion.get(), s.batch_store.get(), bo);
    ASSERT_THAT(s.batch->Restore(), IsOk());
  }
  // A restarted gateway: everything rebuilt on the same database.
  void Restart() {
    stack_.reset();
    Build();
  }

  grpc::Status Predict(const inference::v1::PredictRequest& req, inference::v1::PredictResponse* resp) {
    grpc::ClientContext ctx;
    return stack_->stub->Predict(&ctx, req, resp);
  }
  grpc::Status SetRollout(const inference::v1::SetRolloutRequest& req, inference::v1::Rollout* out) {
    grpc::ClientContext ctx;
    return stack_->stub->SetRollout(&ctx, req, out);
  }
  grpc::Status GetRollout(inference::v1::Rollout* out) {
    grpc::ClientContext ctx;
    inference::v1::GetRolloutRequest req;
    req.set_endpoint("fraud_ep");
    return stack_->stub->GetRollout(&ctx, req, out);
  }
  grpc::Status Rollback(const std::string& reason, inference::v1::Rollout* out) {
    grpc::ClientContext ctx;
    inference::v1::RollbackRequest req;
    req.set_endpoint("fraud_ep");
    req.set_reason(reason);
    return stack_->stub->Rollback(&ctx, req, out);
  }

  // `rows` rows by entity key (entities first .. first + rows - 1).
  static inference::v1::PredictRequest ByKey(int64_t first, int rows) {
    inference::v1::PredictRequest req;
    req.set_endpoint("fraud_ep");
    for (int i = 0; i < rows; ++i) req.add_rows()->mutable_entity_key()->set_int64_value(first + i);
    return req;
  }

  static inference::v1::SetRolloutRequest Canary(int64_t candidate, std::vector<double> percents) {
    inference::v1::SetRolloutRequest req;
    req.set_endpoint("fraud_ep");
    req.set_candidate_version(candidate);
    req.set_reason("test rollout");
    auto* spec = req.mutable_spec();
    spec->set_strategy(registry::v1::ROLLOUT_STRATEGY_CANARY);
    for (double p : percents) {
      auto* step = spec->mutable_canary()->add_steps();
      step->set_percent(p);
      step->set_analysis_window_micros(10 * kSecond);
      step->set_min_requests(20);
    }
    spec->mutable_thresholds()->set_max_error_rate(0.1);
    spec->mutable_thresholds()->set_min_requests(20);
    return req;
  }

  std::unique_ptr<PgPool> pool_;
  std::map<int, std::string> models_;
  FakeRegistry registry_;
  FakeFeatures features_;
  FakeMonitoring monitoring_;
  std::unique_ptr<LoopbackServer> registry_server_, features_server_, monitoring_server_;
  FlakyLoader loader_;
  Authorizer authorizer_ = Authorizer::Disabled();
  std::atomic<int64_t> now_{kT0};
  std::unique_ptr<GatewayStack> stack_;
  const PeerChannel* ingestion_peer_ = nullptr;  // set, then Restart(), for batch scoring
  BatchFeaturesClient* batch_features_ = nullptr;  // POINT_IN_TIME batch scoring; not owned
  std::atomic<int64_t> next_job_{0};
};

}  // namespace mlops::gateway::testing

// SetRollout against the REAL registry service in process (Registry +
// PgRegistryStore over the same Postgres database as the gateway's schema,
// served on a loopback port): the gateway forwards the rollout as
// MANUAL_ROLLOUT with its service token, the registry checks eligibility and
// assigns the id, and the rollout arrives back through WatchDeployments
// (origin MANUAL) before SetRollout answers. A shadow of a STAGING version
// runs (mirrored, never returned); a canary of a non-production version is
// FAILED_PRECONDITION and changes nothing.
#include <chrono>
#include <thread>

#include "grpcpp/server_builder.h"
#include "mlops_migrations/gateway_migrations.h"
#include "services/gateway/deployment_watcher.h"
#include "services/gateway/gateway_service.h"
#include "services/gateway/pg_endpoint_store.h"
#include "services/gateway/predictor.h"
#include "services/gateway/registry_client.h"
#include "services/gateway/rollout_convert.h"
#include "services/gateway/testing/fake_peers.h"
#include "services/registry/registry_service_fixture.h"

namespace mlops::gateway {
namespace {

namespace iv1 = ::mlops::inference::v1;
namespace rv1 = ::mlops::registry::v1;
constexpr int kCols = 4;

class ManualRolloutPgTest : public registry::RegistryServicePgTest {
 protected:
  void SetUp() override {
    RegistryServicePgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // The registry on a real port, for the gateway's peer channel (a second
    // service object over the fixture's Registry, feed and notifier).
    network_service_ = std::make_unique<registry::RegistryServiceImpl>(
        registry_.get(), authorizer_.get(), feed_.get(), &notifier_, absl::Seconds(3));
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(network_service_.get());
    network_server_ = builder.BuildAndStart();
    ASSERT_TRUE(network_server_ != nullptr && port != 0);
    PeerChannelOptions po;
    po.address = "127.0.0.1:" + std::to_string(port);
    po.bearer_token = "t-deployer";  // the gateway's service token (role deployer)
    MLOPS_ASSERT_OK_AND_ASSIGN(peer_, PeerChannel::Create("registry", po));

    // Model "fraud": version 1 PRODUCTION, version 2 STAGING, both real XGBoost.
    for (unsigned v = 1; v <= 2; ++v) {
      MLOPS_ASSERT_OK_AND_ASSIGN(models_[v], testing::TrainTestModel(kCols, 20, 4, v));
      rv1::RegisterModelVersionHeader h = Header(models_[v], 0.8);
      h.set_model("fraud");
      h.set_flavor(rv1::FLAVOR_XGBOOST);
      h.set_artifact_format(rv1::ARTIFACT_FORMAT_XGBOOST_JSON);
      *h.mutable_signature() = testing::TestSignature(kCols);
      rv1::ModelVersion out;
      grpc::Status s = Register(h, models_[v], &out);
      ASSERT_TRUE(s.ok()) << s.error_message();
      ASSERT_EQ(out.version(), v);
      rv1::RequestTransitionRequest req;
      req.mutable_version()->set_model("fraud");
      req.mutable_version()->set_version(v);
      req.set_target_stage(v == 1 ? rv1::STAGE_PRODUCTION : rv1::STAGE_STAGING);
      req.set_reason("test");
      rv1::TransitionRequest t;
      s = stub_->RequestTransition(As("t-deployer").get(), req, &t);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
    rv1::SetEndpointConfigRequest set;
    set.mutable_config()->set_endpoint("fraud_ep");
    set.mutable_config()->set_model("fraud");
    rv1::RolloutSpec* spec = set.mutable_config()->mutable_promotion_rollout();
    spec->set_strategy(rv1::ROLLOUT_STRATEGY_BLUE_GREEN);
    spec->mutable_blue_green();
    set.set_reason("test");
    rv1::EndpointConfig cfg;
    grpc::Status s = stub_->SetEndpointConfig(As("t-deployer").get(), set, &cfg);
    ASSERT_TRUE(s.ok()) << s.error_message();

    // The gateway, following the registry like a real replica.
    PgPoolOptions o;
    o.search_path = "gateway";
    gateway_pool_ = MakePool(o);
    ASSERT_THAT(RunMigrations(*gateway_pool_, "gateway", EmbeddedMigrations()).status(), IsOk());
    client_ = std::make_unique<RegistryClient>(peer_.get(), "gw-real");
    cache_ = std::make_unique<ModelCache>(client_.get(), &loader_, 8, [] { return kNow; });
    store_ = std::make_unique<PgEndpointStore>(gateway_pool_.get());
    EndpointManagerOptions eo;
    eo.now_micros = [] { return kNow; };
    eo.parse_plan = PlanFromSpecBytes;
    endpoints_ = std::make_unique<EndpointManager>(cache_.get(), client_.get(), client_.get(),
                                                   store_.get(), nullptr, eo);
    PredictorOptions pr;
    pr.now_micros = [] { return kNow; };
    pr.default_timeout_micros = 5'000'000;
    predictor_ = std::make_unique<Predictor>(endpoints_.get(), nullptr, nullptr, nullptr, pr);
    watcher_ = std::make_unique<DeploymentWatcher>(peer_.get(), endpoints_.get(), "gw-real",
                                                   [] { return kNow; });
    gateway_auth_ = Authorizer::Disabled();
    service_gw_ = std::make_unique<InferenceServiceImpl>(predictor_.get(), endpoints_.get(),
                                                         &gateway_auth_, "gw-real", watcher_.get(),
                                                         nullptr);
    MLOPS_ASSERT_OK_AND_ASSIGN(gateway_server_, GrpcTestServer::Start({service_gw_.get()}));
    gateway_ = iv1::InferenceService::NewStub(gateway_server_->InProcessChannel());
    ASSERT_THAT(endpoints_->Restore(), IsOk());
    watcher_->Start();
    for (int i = 0; i < 300 && !watcher_->connected(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(watcher_->connected());
  }

  void TearDown() override {
    if (watcher_) watcher_->Stop();
    gateway_.reset();
    gateway_server_.reset();
    service_gw_.reset();
    watcher_.reset();
    predictor_.reset();
    endpoints_.reset();
    store_.reset();
    cache_.reset();
    client_.reset();
    gateway_pool_.reset();
    if (network_server_) network_server_->Shutdown(std::chrono::system_clock::now());
    network_server_.reset();
    peer_.reset();
    RegistryServicePgTest::TearDown();
    network_service_.reset();
  }

  static iv1::PredictRequest Rows(int n) {
    iv1::PredictRequest req;
    req.set_endpoint("fraud_ep");
    for (int c = 0; c < kCols; ++c) req.add_feature_names("f" + std::to_string(c));
    for (int r = 0; r < n; ++r) {
      auto* row = req.add_rows()->mutable_features();
      for (int c = 0; c < kCols; ++c) row->add_values()->set_double_value(((r * 7 + c * 3) % 10) / 10.0);
    }
    return req;
  }

  grpc::Status SetRollout(const iv1::SetRolloutRequest& req, iv1::Rollout* out) {
    grpc::ClientContext ctx;
    return gateway_->SetRollout(&ctx, req, out);
  }

  // The registry's desired state of the endpoint (a WatchDeployments snapshot).
  rv1::EndpointDeployment Desired() {
    auto ctx = As("t-viewer");
    rv1::WatchDeploymentsRequest req;
    req.add_endpoints("fraud_ep");
    auto reader = stub_->WatchDeployments(ctx.get(), req);
    rv1::WatchDeploymentsResponse msg;
    rv1::EndpointDeployment out;
    for (int i = 0; i < 10 && reader->Read(&msg); ++i) {
      if (msg.has_endpoint()) out = msg.endpoint();
      if (msg.kind() == rv1::DEPLOYMENT_UPDATE_KIND_SNAPSHOT_COMPLETE) break;
    }
    ctx->TryCancel();
    (void)reader->Finish();
    return out;
  }

  static constexpr int64_t kNow = 1'800'000'000'000'000;
  std::map<unsigned, std::string> models_;
  std::unique_ptr<registry::RegistryServiceImpl> network_service_;
  std::unique_ptr<grpc::Server> network_server_;
  std::unique_ptr<PeerChannel> peer_;
  std::unique_ptr<PgPool> gateway_pool_;
  XgbModelLoader loader_;
  std::unique_ptr<RegistryClient> client_;
  std::unique_ptr<ModelCache> cache_;
  std::unique_ptr<PgEndpointStore> store_;
  std::unique_ptr<EndpointManager> endpoints_;
  std::unique_ptr<Predictor> predictor_;
  std::unique_ptr<DeploymentWatcher> watcher_;
  Authorizer gateway_auth_ = Authorizer::Disabled();
  std::unique_ptr<InferenceServiceImpl> service_gw_;
  std::unique_ptr<GrpcTestServer> gateway_server_;
  std::unique_ptr<iv1::InferenceService::Stub> gateway_;
};

TEST_F(ManualRolloutPgTest, ShadowOfAStagingVersionComesBackThroughTheRegistryAndRuns) {
  iv1::SetRolloutRequest req;
  req.set_endpoint("fraud_ep");
  req.set_candidate_version(2);  // STAGING
  req.set_reason("shadow the staging model");
  req.mutable_spec()->set_strategy(rv1::ROLLOUT_STRATEGY_SHADOW);
  req.mutable_spec()->mutable_shadow()->set_mirror_percent(100);
  req.mutable_spec()->mutable_shadow()->set_analysis_window_micros(60'000'000);
  iv1::Rollout rollout;
  grpc::Status s = SetRollout(req, &rollout);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(rollout.rollout_id().empty());
  EXPECT_EQ(rollout.origin(), rv1::ROLLOUT_ORIGIN_MANUAL);
  EXPECT_EQ(rollout.state(), rv1::ROLLOUT_STATE_IN_PROGRESS);  // applied by the follower
  EXPECT_EQ(rollout.primary_version(), 1);
  EXPECT_EQ(rollout.candidate_version(), 2);
  EXPECT_DOUBLE_EQ(rollout.candidate_percent(), 0);

  // The registry holds it (its id) and heard the replica start it.
  rv1::EndpointDeployment desired = Desired();
  EXPECT_EQ(desired.rollout().rollout_id(), rollout.rollout_id());
  EXPECT_EQ(desired.rollout().origin(), rv1::ROLLOUT_ORIGIN_MANUAL);
  for (int i = 0; i < 200 && desired.rollout().state() != rv1::ROLLOUT_STATE_IN_PROGRESS; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    desired = Desired();
  }
  EXPECT_EQ(desired.rollout().state(), rv1::ROLLOUT_STATE_IN_PROGRESS);

  // The shadow runs: every row mirrored and compared, none answered by it.
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<iv1::PredictResponse> r =
        predictor_->Predict(Rows(20), std::chrono::system_clock::now() + std::chrono::seconds(5));
    ASSERT_THAT(r.status(), IsOk());
    for (const iv1::RowPrediction& p : r->predictions()) {
      EXPECT_EQ(p.variant(), iv1::VARIANT_PRIMARY);
      EXPECT_EQ(p.version(), 1);
    }
  }
  predictor_->DrainShadows();
  std::shared_ptr<const Serving> serving = endpoints_->Find("fraud_ep");
  ASSERT_NE(serving, nullptr);
  ASSERT_NE(serving->candidate, nullptr);
  EXPECT_EQ(serving->candidate->info.version, 2);
  EXPECT_EQ(serving->stats->comparison.Snapshot().compared, 100);
}

TEST_F(ManualRolloutPgTest, CanaryOfANonProductionVersionIsFailedPreconditionAndChangesNothing) {
  absl::StatusOr<iv1::PredictResponse> before =
      predictor_->Predict(Rows(1), std::chrono::system_clock::now() + std::chrono::seconds(5));
  ASSERT_THAT(before.status(), IsOk());
  const rv1::EndpointDeployment desired_before = Desired();
  iv1::SetRolloutRequest req;
  req.set_endpoint("fraud_ep");
  req.set_candidate_version(2);  // STAGING: not eligible for a canary
  req.set_reason("canary the staging model");
  req.mutable_spec()->set_strategy(rv1::ROLLOUT_STRATEGY_CANARY);
  for (double p : {10.0, 100.0}) {
    auto* step = req.mutable_spec()->mutable_canary()->add_steps();
    step->set_percent(p);
    step->set_analysis_window_micros(10'000'000);
  }
  iv1::Rollout rollout;
  grpc::Status s = SetRollout(req, &rollout);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // nothing may arrive
  const rv1::EndpointDeployment desired_after = Desired();
  EXPECT_EQ(desired_after.rollout().rollout_id(), desired_before.rollout().rollout_id());
  std::shared_ptr<const Serving> serving = endpoints_->Find("fraud_ep");
  ASSERT_NE(serving, nullptr);
  EXPECT_FALSE(serving->rollout.has_value());
  EXPECT_EQ(serving->candidate, nullptr);
  grpc::ClientContext ctx;
  iv1::GetRolloutRequest get;
  get.set_endpoint("fraud_ep");
  EXPECT_EQ(gateway_->GetRollout(&ctx, get, &rollout).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace mlops::gateway

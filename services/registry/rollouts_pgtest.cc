// Rollouts through gRPC and Postgres: a promotion starts the endpoint's
// configured rollout (PENDING, previous production as PRIMARY, new version as
// CANDIDATE); gateways' reports move it forward only, repeated reports are
// duplicates that change nothing, a rollback restores the stages in the same
// transaction, and every report is audited.
#include "services/registry/registry_service_fixture.h"

namespace mlops::registry {
namespace {

using ::testing::HasSubstr;

class RolloutsPgTest : public RegistryServicePgTest {
 protected:
  void SetUp() override {
    RegistryServicePgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    pb::ModelVersion v;
    for (const char* bytes : {"v1", "v2", "v3"}) {
      ASSERT_TRUE(Register(Header(bytes, 0.8), bytes, &v).ok());
    }
    pb::TransitionRequest t;
    ASSERT_TRUE(Transition(1, pb::STAGE_PRODUCTION, &t).ok());
    pb::SetEndpointConfigRequest set;
    set.mutable_config()->set_endpoint("churn_api");
    set.mutable_config()->set_model("churn");
    pb::RolloutSpec* spec = set.mutable_config()->mutable_promotion_rollout();
    spec->set_strategy(pb::ROLLOUT_STRATEGY_CANARY);
    for (double percent : {10.0, 100.0}) {
      pb::CanaryStep* step = spec->mutable_canary()->add_steps();
      step->set_percent(percent);
      step->set_analysis_window_micros(1'000'000);
    }
    pb::EndpointConfig cfg;
    grpc::Status s = stub_->SetEndpointConfig(As("t-deployer").get(), set, &cfg);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // The endpoint's desired state, as the WatchDeployments snapshot gives it.
  pb::EndpointDeployment Endpoint() {
    auto ctx = As("t-viewer");
    pb::WatchDeploymentsRequest req;
    req.add_endpoints("churn_api");
    auto reader = stub_->WatchDeployments(ctx.get(), req);
    pb::WatchDeploymentsResponse msg;
    pb::EndpointDeployment out;
    for (int i = 0; i < 10 && reader->Read(&msg); ++i) {
      if (msg.has_endpoint()) out = msg.endpoint();
      if (msg.kind() == pb::DEPLOYMENT_UPDATE_KIND_SNAPSHOT_COMPLETE) break;
    }
    ctx->TryCancel();
    (void)reader->Finish();
    return out;
  }

  grpc::Status Report(pb::DeploymentEventType type, const std::string& rollout_id, int step,
                      const std::string& reason, pb::RecordDeploymentEventResponse* out,
                      const std::string& token = "t-deployer") {
    pb::RecordDeploymentEventRequest req;
    req.set_endpoint("churn_api");
    req.set_type(type);
    req.set_rollout_id(rollout_id);
    req.set_step(step);
    req.set_reason(reason);
    req.set_gateway_id("gw-1");
    (*req.mutable_metrics())["error_rate"] = 0.2;
    return stub_->RecordDeploymentEvent(As(token).get(), req, out);
  }

  pb::Stage StageOf(int64_t version) {
    pb::GetModelVersionRequest req;
    req.set_model("churn");
    req.set_version(version);
    pb::ModelVersion v;
    EXPECT_TRUE(stub_->GetModelVersion(As("t-viewer").get(), req, &v).ok());
    return v.stage();
  }
};

TEST_F(RolloutsPgTest, PromotionStartsTheRolloutAndARollbackRestoresTheStages) {
  pb::TransitionRequest t;
  ASSERT_TRUE(Transition(2, pb::STAGE_PRODUCTION, &t).ok());
  pb::EndpointDeployment ep = Endpoint();
  ASSERT_EQ(ep.versions_size(), 2);
  EXPECT_EQ(ep.versions(0).version(), 1);
  EXPECT_EQ(ep.versions(0).role(), pb::SERVED_VERSION_ROLE_PRIMARY);
  EXPECT_EQ(ep.versions(1).version(), 2);
  EXPECT_EQ(ep.versions(1).role(), pb::SERVED_VERSION_ROLE_CANDIDATE);
  const pb::DeploymentRollout& rollout = ep.rollout();
  EXPECT_THAT(rollout.rollout_id(), ::testing::StartsWith("ro-"));
  EXPECT_EQ(rollout.state(), pb::ROLLOUT_STATE_PENDING);
  EXPECT_EQ(rollout.origin(), pb::ROLLOUT_ORIGIN_PROMOTION);
  EXPECT_EQ(rollout.transition_request_id(), t.id());
  EXPECT_EQ(rollout.spec().canary().steps_size(), 2);
  const std::string id = rollout.rollout_id();

  pb::RecordDeploymentEventResponse r;
  ASSERT_TRUE(Report(pb::DEPLOYMENT_EVENT_TYPE_ROLLOUT_STARTED, id, 0, "", &r).ok());
  EXPECT_FALSE(r.duplicate());
  EXPECT_EQ(r.endpoint().rollout().state(), pb::ROLLOUT_STATE_IN_PROGRESS);
  const int64_t started_seq = r.audit_sequence();
  // A second replica reports the same start: a duplicate, nothing changes.
  ASSERT_TRUE(Report(pb::DEPLOYMENT_EVENT_TYPE_ROLLOUT_STARTED, id, 0, "", &r).ok());
  EXPECT_TRUE(r.duplicate());
  EXPECT_EQ(r.audit_sequence(), started_seq);
  ASSERT_TRUE(Report(pb::DEPLOYMENT_EVENT_TYPE_STEP_ADVANCED, id, 1, "", &r).ok());
  EXPECT_EQ(r.endpoint().rollout().current_step(), 1);

  // Bad reports: exact codes, nothing changed.
  EXPECT_EQ(Report(pb::DEPLOYMENT_EVENT_TYPE_STEP_ADVANCED, id, 0, "", &r).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // backwards
  EXPECT_EQ(Report(pb::DEPLOYMENT_EVENT_TYPE_ROLLED_BACK, "ro-0000000000000000", 0, "x", &r)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Report(pb::DEPLOYMENT_EVENT_TYPE_ROLLED_BACK, id, 0, "", &r).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // reason required
  EXPECT_EQ(Report(pb::DEPLOYMENT_EVENT_TYPE_ROLLED_BACK, id, 0, "x", &r, "t-viewer").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Report(pb::DEPLOYMENT_EVENT_TYPE_UNSPECIFIED, id, 0, "", &r).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(StageOf(2), pb::STAGE_PRODUCTION);

  grpc::Status rolled = Report(pb::DEPLOYMENT_EVENT_TYPE_ROLLED_BACK, id, 0,
                               "candidate error rate 0.2 > 0.05", &r);
  ASSERT_TRUE(rolled.ok()) << rolled.error_message();
  EXPECT_EQ(StageOf(1), pb::STAGE_PRODUCTION);
  EXPECT_EQ(StageOf(2), pb::STAGE_ARCHIVED);
  pb::GetModelVersionRequest champion;
  champion.set_model("churn");
  champion.set_alias("champion");
  pb::ModelVersion v;
  ASSERT_TRUE(stub_->GetModelVersion(As("t-viewer").get(), champion, &v).ok());
  EXPECT_EQ(v.version(), 1);
  ep = Endpoint();
  ASSERT_EQ(ep.versions_size(), 1);
  EXPECT_EQ(ep.versions(0).version(), 1);
  EXPECT_EQ(ep.rollout().state(), pb::ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_EQ(ep.rollout().reason(), "candidate error rate 0.2 > 0.05");
  grpc::Status after = Report(pb::DEPLOYMENT_EVENT_TYPE_ROLLOUT_COMPLETED, id, 0, "", &r);
  EXPECT_EQ(after.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(after.error_message(), HasSubstr("finished"));

  pb::VerifyAuditLogRequest verify;
  pb::VerifyAuditLogResponse verified;
  ASSERT_TRUE(stub_->VerifyAuditLog(As("t-deployer").get(), verify, &verified).ok());
  EXPECT_TRUE(verified.ok());
}

TEST_F(RolloutsPgTest, CompletedRolloutLeavesTheCandidateAsTheOnlyServedVersion) {
  pb::TransitionRequest t;
  ASSERT_TRUE(Transition(3, pb::STAGE_PRODUCTION, &t).ok());
  const std::string id = Endpoint().rollout().rollout_id();
  pb::RecordDeploymentEventResponse r;
  ASSERT_TRUE(Report(pb::DEPLOYMENT_EVENT_TYPE_ROLLOUT_STARTED, id, 0, "", &r).ok());
  ASSERT_TRUE(Report(pb::DEPLOYMENT_EVENT_TYPE_ROLLOUT_COMPLETED, id, 0, "", &r).ok());
  pb::EndpointDeployment ep = Endpoint();
  ASSERT_EQ(ep.versions_size(), 1);
  EXPECT_EQ(ep.versions(0).version(), 3);
  EXPECT_EQ(ep.versions(0).role(), pb::SERVED_VERSION_ROLE_PRIMARY);
  EXPECT_EQ(ep.rollout().state(), pb::ROLLOUT_STATE_COMPLETED);
  EXPECT_EQ(StageOf(3), pb::STAGE_PRODUCTION);
  EXPECT_EQ(StageOf(1), pb::STAGE_ARCHIVED);

  // The next promotion starts a new rollout; reports about the old one are
  // duplicates if already recorded, refused otherwise.
  ASSERT_TRUE(Transition(2, pb::STAGE_PRODUCTION, &t).ok());
  const std::string second = Endpoint().rollout().rollout_id();
  ASSERT_NE(second, id);
  ASSERT_TRUE(Report(pb::DEPLOYMENT_EVENT_TYPE_ROLLOUT_STARTED, id, 0, "", &r).ok());
  EXPECT_TRUE(r.duplicate());
  grpc::Status stale = Report(pb::DEPLOYMENT_EVENT_TYPE_STEP_ADVANCED, id, 1, "", &r);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(stale.error_message(), HasSubstr("not the current rollout"));
}

}  // namespace
}  // namespace mlops::registry

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

  // A gateway forwarding SetRollout: MANUAL_ROLLOUT of `spec` to `candidate`.
  grpc::Status Manual(const pb::RolloutSpec& spec, int64_t candidate, const std::string& reason,
                      pb::RecordDeploymentEventResponse* out, int64_t primary = 0,
                      const std::string& endpoint = "churn_api",
                      const std::string& token = "t-deployer") {
    pb::RecordDeploymentEventRequest req;
    req.set_endpoint(endpoint);
    req.set_type(pb::DEPLOYMENT_EVENT_TYPE_MANUAL_ROLLOUT);
    *req.mutable_spec() = spec;
    req.set_candidate_version(candidate);
    req.set_primary_version(primary);
    req.set_reason(reason);
    req.set_gateway_id("gw-1");
    return stub_->RecordDeploymentEvent(As(token).get(), req, out);
  }

  static pb::RolloutSpec Shadow() {
    pb::RolloutSpec spec;
    spec.set_strategy(pb::ROLLOUT_STRATEGY_SHADOW);
    spec.mutable_shadow()->set_mirror_percent(50);
    spec.mutable_shadow()->set_analysis_window_micros(2'000'000);
    return spec;
  }

  static pb::RolloutSpec Canary(std::vector<double> percents) {
    pb::RolloutSpec spec;
    spec.set_strategy(pb::ROLLOUT_STRATEGY_CANARY);
    for (double percent : percents) {
      pb::CanaryStep* step = spec.mutable_canary()->add_steps();
      step->set_percent(percent);
      step->set_analysis_window_micros(1'000'000);
    }
    return spec;
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

TEST_F(RolloutsPgTest, ManualShadowOfAStagingVersionThenCanaryReplacingAPromotionRollout) {
  pb::RecordDeploymentEventResponse r;
  // A SHADOW needs a STAGING or PRODUCTION candidate: version 2 is NONE.
  grpc::Status early = Manual(Shadow(), 2, "shadow v2 first", &r);
  EXPECT_EQ(early.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(early.error_message(), HasSubstr("STAGING or PRODUCTION"));
  pb::TransitionRequest t;
  ASSERT_TRUE(Transition(2, pb::STAGE_STAGING, &t).ok());

  grpc::Status shadow = Manual(Shadow(), 2, "shadow v2 first", &r);
  ASSERT_TRUE(shadow.ok()) << shadow.error_message();
  EXPECT_FALSE(r.duplicate());
  pb::EndpointDeployment ep = Endpoint();
  ASSERT_EQ(ep.versions_size(), 2);
  EXPECT_EQ(ep.versions(0).version(), 1);
  EXPECT_EQ(ep.versions(0).role(), pb::SERVED_VERSION_ROLE_PRIMARY);
  EXPECT_EQ(ep.versions(1).version(), 2);
  EXPECT_EQ(ep.versions(1).role(), pb::SERVED_VERSION_ROLE_CANDIDATE);
  EXPECT_EQ(ep.rollout().origin(), pb::ROLLOUT_ORIGIN_MANUAL);
  EXPECT_EQ(ep.rollout().state(), pb::ROLLOUT_STATE_PENDING);
  EXPECT_EQ(ep.rollout().spec().strategy(), pb::ROLLOUT_STRATEGY_SHADOW);
  EXPECT_EQ(ep.rollout().reason(), "shadow v2 first");
  const std::string shadow_id = ep.rollout().rollout_id();
  ASSERT_TRUE(Report(pb::DEPLOYMENT_EVENT_TYPE_ROLLOUT_STARTED, shadow_id, 0, "", &r).ok());
  EXPECT_EQ(StageOf(2), pb::STAGE_STAGING);  // a shadow moves no stage

  // CANARY needs the production version as candidate: refused, nothing changed.
  grpc::Status canary = Manual(Canary({25, 100}), 2, "canary v2", &r);
  EXPECT_EQ(canary.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(canary.error_message(), HasSubstr("promote it through the gate first"));
  EXPECT_EQ(Endpoint().rollout().rollout_id(), shadow_id);

  // Promoting v2 starts the endpoint's configured canary (superseding the
  // shadow); a manual canary with other steps then replaces it.
  ASSERT_TRUE(Transition(2, pb::STAGE_PRODUCTION, &t).ok());
  const std::string promoted_id = Endpoint().rollout().rollout_id();
  ASSERT_NE(promoted_id, shadow_id);
  grpc::Status replaced = Manual(Canary({5, 50, 100}), 2, "slower canary", &r, 1);
  ASSERT_TRUE(replaced.ok()) << replaced.error_message();
  ep = Endpoint();
  EXPECT_EQ(ep.rollout().origin(), pb::ROLLOUT_ORIGIN_MANUAL);
  EXPECT_EQ(ep.rollout().primary_version(), 1);
  EXPECT_EQ(ep.rollout().candidate_version(), 2);
  EXPECT_EQ(ep.rollout().spec().canary().steps_size(), 3);
  grpc::Status stale = Report(pb::DEPLOYMENT_EVENT_TYPE_ROLLOUT_STARTED, promoted_id, 0, "", &r);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  pb::GetAuditLogRequest audit;
  audit.set_model("churn");
  pb::GetAuditLogResponse log;
  ASSERT_TRUE(stub_->GetAuditLog(As("t-viewer").get(), audit, &log).ok());
  int manual_entries = 0;
  for (const auto& e : log.entries()) {
    if (e.event_type() == pb::AUDIT_EVENT_TYPE_MANUAL_ROLLOUT) ++manual_entries;
  }
  EXPECT_EQ(manual_entries, 2);
  pb::VerifyAuditLogResponse verified;
  ASSERT_TRUE(
      stub_->VerifyAuditLog(As("t-deployer").get(), pb::VerifyAuditLogRequest(), &verified).ok());
  EXPECT_TRUE(verified.ok());
}

TEST_F(RolloutsPgTest, BadManualRolloutsAreRejectedWithExactCodesAndChangeNothing) {
  pb::TransitionRequest t;
  ASSERT_TRUE(Transition(2, pb::STAGE_STAGING, &t).ok());
  pb::RecordDeploymentEventResponse r;
  auto code = [&](grpc::Status s) { return s.error_code(); };
  EXPECT_EQ(code(Manual(pb::RolloutSpec(), 2, "x", &r)), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status steps = Manual(Canary({10, 50}), 2, "x", &r);
  EXPECT_EQ(steps.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(steps.error_message(), HasSubstr("spec.canary.steps"));
  EXPECT_EQ(code(Manual(Shadow(), 2, "", &r)), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code(Manual(Shadow(), 0, "x", &r)), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code(Manual(Shadow(), 2, "x", &r, 0, "nope_api")), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(code(Manual(Shadow(), 99, "x", &r)), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(code(Manual(Shadow(), 2, "x", &r, 3)), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(code(Manual(Shadow(), 1, "x", &r)), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(code(Manual(Shadow(), 2, "x", &r, 0, "churn_api", "t-viewer")),
            grpc::StatusCode::PERMISSION_DENIED);
  pb::EndpointDeployment ep = Endpoint();
  EXPECT_FALSE(ep.has_rollout());
  ASSERT_EQ(ep.versions_size(), 1);
  EXPECT_EQ(ep.versions(0).version(), 1);
}

}  // namespace
}  // namespace mlops::registry

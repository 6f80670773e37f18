// RegistryServiceImpl through in-process gRPC over a real Postgres store:
// the status code of every bad input of issue 6 and the auth denials.
#include <memory>

#include "services/registry/registry_service_fixture.h"

namespace mlops::registry {
namespace {

using ::testing::HasSubstr;

TEST_F(RegistryServicePgTest, RegistersStreamedArtifactAndStreamsItBack) {
  const std::string bytes = "0123456789abcdef";
  pb::ModelVersion v;
  ASSERT_TRUE(Register(Header(bytes, 0.8), bytes, &v).ok());
  EXPECT_EQ(v.version(), 1);
  EXPECT_EQ(v.artifact().sha256(), Sha256Hex(bytes));
  EXPECT_EQ(v.stage(), pb::STAGE_NONE);
  EXPECT_EQ(v.docs().intended_use(), "churn scoring");
  EXPECT_EQ(v.signature().inputs(0).name(), "tenure");

  pb::GetArtifactRequest req;
  req.mutable_version()->set_model("churn");
  req.mutable_version()->set_version(1);
  req.set_purpose(pb::ARTIFACT_READ_PURPOSE_DEPLOYMENT);
  auto ctx = As("t-viewer");
  auto reader = stub_->GetArtifact(ctx.get(), req);
  pb::GetArtifactResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(msg.info().size_bytes(), 16);
  std::string got;
  while (reader->Read(&msg)) got += msg.chunk();
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(got, bytes);

  pb::GetModelVersionRequest get;
  get.set_model("churn");
  get.set_version(1);
  pb::ModelVersion again;
  ASSERT_TRUE(stub_->GetModelVersion(As("t-viewer").get(), get, &again).ok());
  EXPECT_EQ(again.evaluations(0).metrics().at("auc"), 0.8);
}

TEST_F(RegistryServicePgTest, HashMismatchIsInvalidArgumentNamingBothHashes) {
  pb::RegisterModelVersionHeader h = Header("expected", 0.8);
  pb::ModelVersion v;
  grpc::Status s = Register(h, "received", &v);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("expected " + Sha256Hex("expected")));
  EXPECT_THAT(s.error_message(), HasSubstr("got " + Sha256Hex("received")));
  pb::GetModelRequest get;
  get.set_name("churn");
  pb::Model m;
  EXPECT_EQ(stub_->GetModel(As("t-viewer").get(), get, &m).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(RegistryServicePgTest, BadRegistrationShapesAreInvalidArgument) {
  pb::ModelVersion v;
  pb::RegisterModelVersionHeader bad_name = Header("x", 0.8);
  bad_name.set_model("Churn");
  EXPECT_EQ(Register(bad_name, "x", &v).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  pb::RegisterModelVersionHeader no_inputs = Header("x", 0.8);
  no_inputs.mutable_signature()->clear_inputs();
  EXPECT_EQ(Register(no_inputs, "x", &v).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  pb::RegisterModelVersionHeader nan = Header("x", 0.8);
  (*nan.mutable_evaluations(0)->mutable_metrics())["auc"] = std::nan("");
  EXPECT_EQ(Register(nan, "x", &v).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // First message not a header.
  auto ctx = As("t-editor");
  auto writer = stub_->RegisterModelVersion(ctx.get(), &v);
  pb::RegisterModelVersionRequest chunk;
  chunk.set_artifact_chunk("x");
  writer->Write(chunk);
  writer->WritesDone();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RegistryServicePgTest, UnknownModelAndVersionAreNotFound) {
  pb::RegisterModelVersionHeader h = Header("x", 0.8);
  h.set_create_model_if_missing(false);
  pb::ModelVersion v;
  EXPECT_EQ(Register(h, "x", &v).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(Register(Header("x", 0.8), "x", &v).ok());
  pb::GetModelVersionRequest get;
  get.set_model("churn");
  get.set_version(7);
  EXPECT_EQ(stub_->GetModelVersion(As("t-viewer").get(), get, &v).error_code(),
            grpc::StatusCode::NOT_FOUND);
  pb::TransitionRequest t;
  EXPECT_EQ(Transition(7, pb::STAGE_STAGING, &t).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(RegistryServicePgTest, AuthDenials) {
  pb::ModelVersion v;
  EXPECT_EQ(Register(Header("x", 0.8), "x", &v, "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Register(Header("x", 0.8), "x", &v, "t-unknown").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Register(Header("x", 0.8), "x", &v, "t-viewer").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Register(Header("x", 0.8), "x", &v).ok());
  pb::TransitionRequest t;
  EXPECT_EQ(Transition(1, pb::STAGE_PRODUCTION, &t, "t-editor").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Transition(1, pb::STAGE_STAGING, &t, "t-viewer").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  pb::SetGatePolicyRequest set;
  set.mutable_policy()->set_model("churn");
  pb::GatePolicy p;
  EXPECT_EQ(stub_->SetGatePolicy(As("t-editor").get(), set, &p).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(RegistryServicePgTest, IllegalTransitionsAreFailedPrecondition) {
  pb::ModelVersion v;
  ASSERT_TRUE(Register(Header("x", 0.8), "x", &v).ok());
  pb::SetGatePolicyRequest set;
  set.mutable_policy()->set_model("churn");
  set.mutable_policy()->set_require_staging_before_production(true);
  pb::GatePolicy p;
  ASSERT_TRUE(stub_->SetGatePolicy(As("t-deployer").get(), set, &p).ok());
  EXPECT_EQ(p.policy_version(), 1);
  pb::TransitionRequest t;
  // Skipping staging when the policy requires it.
  EXPECT_EQ(Transition(1, pb::STAGE_PRODUCTION, &t).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // Already in that stage.
  EXPECT_EQ(Transition(1, pb::STAGE_NONE, &t).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  // Archived -> production without staging again.
  ASSERT_TRUE(Transition(1, pb::STAGE_ARCHIVED, &t).ok());
  EXPECT_EQ(Transition(1, pb::STAGE_PRODUCTION, &t).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // Unspecified target.
  EXPECT_EQ(Transition(1, pb::STAGE_UNSPECIFIED, &t).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RegistryServicePgTest, GateMetricTheVersionLacksIsFailedPrecondition) {
  pb::ModelVersion v;
  ASSERT_TRUE(Register(Header("x", 0.8), "x", &v).ok());
  pb::SetGatePolicyRequest set;
  set.mutable_policy()->set_model("churn");
  auto* th = set.mutable_policy()->mutable_production()->add_thresholds();
  th->set_metric("recall");
  th->set_comparison(pb::COMPARISON_GREATER_OR_EQUAL);
  th->set_value(0.5);
  pb::GatePolicy p;
  ASSERT_TRUE(stub_->SetGatePolicy(As("t-deployer").get(), set, &p).ok());
  pb::TransitionRequest t;
  grpc::Status s = Transition(1, pb::STAGE_PRODUCTION, &t);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("recall"));
}

TEST_F(RegistryServicePgTest, ApprovalsFourEyesAndViewer) {
  pb::ModelVersion v;
  ASSERT_TRUE(Register(Header("x", 0.8), "x", &v).ok());
  pb::SetGatePolicyRequest set;
  set.mutable_policy()->set_model("churn");
  set.mutable_policy()->mutable_production()->mutable_approvals()->set_count(1);
  pb::GatePolicy p;
  ASSERT_TRUE(stub_->SetGatePolicy(As("t-deployer").get(), set, &p).ok());
  pb::TransitionRequest t;
  ASSERT_TRUE(Transition(1, pb::STAGE_PRODUCTION, &t).ok());
  EXPECT_EQ(t.status(), pb::TRANSITION_STATUS_PENDING_APPROVAL);
  pb::ApproveRequest approve;
  approve.set_request_id(t.id());
  approve.set_comment("ok");
  pb::TransitionRequest out;
  EXPECT_EQ(stub_->Approve(As("t-deployer").get(), approve, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->Approve(As("t-viewer").get(), approve, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->Approve(As("t-deployer2").get(), approve, &out).ok());
  EXPECT_EQ(out.status(), pb::TRANSITION_STATUS_GRANTED);
  pb::GetModelRequest get;
  get.set_name("churn");
  pb::Model m;
  ASSERT_TRUE(stub_->GetModel(As("t-viewer").get(), get, &m).ok());
  EXPECT_EQ(m.production_version(), 1);

  pb::GetAuditLogRequest audit;
  audit.set_model("churn");
  audit.set_production_at_micros(out.resolved_at_micros() + 1);
  pb::GetAuditLogResponse log;
  ASSERT_TRUE(stub_->GetAuditLog(As("t-viewer").get(), audit, &log).ok());
  EXPECT_EQ(log.production_at().version(), 1);
  EXPECT_GE(log.entries_size(), 5);
  pb::VerifyAuditLogResponse verify;
  ASSERT_TRUE(
      stub_->VerifyAuditLog(As("t-viewer").get(), pb::VerifyAuditLogRequest(), &verify).ok());
  EXPECT_TRUE(verify.ok());
  EXPECT_EQ(verify.entries_checked(), log.entries_size());
}

TEST_F(RegistryServicePgTest, ListModelVersionsPagesAndRejectsBadToken) {
  pb::ModelVersion v;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Register(Header("x", 0.8), "x", &v).ok());
  pb::ListModelVersionsRequest req;
  req.set_model("churn");
  req.mutable_page()->set_page_size(2);
  pb::ListModelVersionsResponse page;
  ASSERT_TRUE(stub_->ListModelVersions(As("t-viewer").get(), req, &page).ok());
  ASSERT_EQ(page.versions_size(), 2);
  EXPECT_EQ(page.versions(0).version(), 3);
  ASSERT_FALSE(page.next_page_token().empty());
  req.mutable_page()->set_page_token(page.next_page_token());
  pb::ListModelVersionsResponse rest;
  ASSERT_TRUE(stub_->ListModelVersions(As("t-viewer").get(), req, &rest).ok());
  ASSERT_EQ(rest.versions_size(), 1);
  EXPECT_EQ(rest.versions(0).version(), 1);
  EXPECT_TRUE(rest.next_page_token().empty());
  req.mutable_page()->set_page_token("!!!");
  EXPECT_EQ(stub_->ListModelVersions(As("t-viewer").get(), req, &rest).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RegistryServicePgTest, AddEvaluationLetsChampionBeComparedOnNewData) {
  pb::ModelVersion v;
  ASSERT_TRUE(Register(Header("a", 0.80), "a", &v).ok());
  pb::TransitionRequest t;
  ASSERT_TRUE(Transition(1, pb::STAGE_PRODUCTION, &t).ok());
  const std::string fresh(64, 'e');
  pb::RegisterModelVersionHeader h = Header("b", 0.90);
  h.mutable_evaluations(0)->set_dataset_version(fresh);
  ASSERT_TRUE(Register(h, "b", &v).ok());
  pb::SetGatePolicyRequest set;
  set.mutable_policy()->set_model("churn");
  auto* cc = set.mutable_policy()->mutable_production()->add_champion_challenger();
  cc->set_metric("auc");
  cc->set_direction(pb::METRIC_DIRECTION_HIGHER_IS_BETTER);
  cc->set_min_absolute_improvement(0.05);
  pb::GatePolicy p;
  ASSERT_TRUE(stub_->SetGatePolicy(As("t-deployer").get(), set, &p).ok());
  // The champion has no evaluation on the new data: the check fails.
  EXPECT_EQ(Transition(2, pb::STAGE_PRODUCTION, &t).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  pb::AddEvaluationRequest add;
  add.mutable_version()->set_model("churn");
  add.mutable_version()->set_version(1);
  add.mutable_evaluation()->set_name("test");
  add.mutable_evaluation()->set_dataset_version(fresh);
  (*add.mutable_evaluation()->mutable_metrics())["auc"] = 0.82;
  ASSERT_TRUE(stub_->AddEvaluation(As("t-editor").get(), add, &v).ok());
  EXPECT_EQ(v.evaluations_size(), 2);
  EXPECT_EQ(stub_->AddEvaluation(As("t-editor").get(), add, &v).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  ASSERT_TRUE(Transition(2, pb::STAGE_PRODUCTION, &t).ok());
  EXPECT_EQ(t.status(), pb::TRANSITION_STATUS_GRANTED);
  EXPECT_EQ(t.replaced_production_version(), 1);

  pb::ListTransitionRequestsRequest list;
  list.set_model("churn");
  list.mutable_page()->set_page_size(2);
  pb::ListTransitionRequestsResponse page;
  ASSERT_TRUE(stub_->ListTransitionRequests(As("t-viewer").get(), list, &page).ok());
  ASSERT_EQ(page.requests_size(), 2);
  EXPECT_EQ(page.requests(0).status(), pb::TRANSITION_STATUS_GRANTED);
  EXPECT_EQ(page.requests(1).status(), pb::TRANSITION_STATUS_DENIED);
  list.mutable_page()->set_page_token(page.next_page_token());
  ASSERT_TRUE(stub_->ListTransitionRequests(As("t-viewer").get(), list, &page).ok());
  ASSERT_EQ(page.requests_size(), 1);
  EXPECT_EQ(page.requests(0).version().version(), 1);
}

TEST_F(RegistryServicePgTest, ChampionAliasPolicyRoundTripsAndGatesAgainstTheAlias) {
  pb::ModelVersion v;
  ASSERT_TRUE(Register(Header("a", 0.70), "a", &v).ok());
  ASSERT_TRUE(Register(Header("b", 0.86), "b", &v).ok());
  ASSERT_TRUE(Register(Header("c", 0.80), "c", &v).ok());
  pb::SetAliasRequest alias;
  alias.set_model("churn");
  alias.set_alias("challenger");
  alias.set_version(2);
  alias.set_reason("best offline");
  pb::Alias out;
  ASSERT_TRUE(stub_->SetAlias(As("t-deployer").get(), alias, &out).ok());
  pb::SetGatePolicyRequest set;
  set.mutable_policy()->set_model("churn");
  auto* cc = set.mutable_policy()->mutable_staging()->add_champion_challenger();
  cc->set_metric("auc");
  cc->set_direction(pb::METRIC_DIRECTION_HIGHER_IS_BETTER);
  cc->set_min_absolute_improvement(0.0);
  cc->set_champion_alias("Bad Alias");
  pb::GatePolicy p;
  grpc::Status bad = stub_->SetGatePolicy(As("t-deployer").get(), set, &p);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("policy.staging.champion_challenger[0].champion_alias"));
  cc->set_champion_alias("challenger");
  ASSERT_TRUE(stub_->SetGatePolicy(As("t-deployer").get(), set, &p).ok());
  EXPECT_EQ(p.staging().champion_challenger(0).champion_alias(), "challenger");
  pb::GetGatePolicyRequest get;
  get.set_model("churn");
  ASSERT_TRUE(stub_->GetGatePolicy(As("t-viewer").get(), get, &p).ok());
  EXPECT_EQ(p.staging().champion_challenger(0).champion_alias(), "challenger");
  pb::TransitionRequest t;
  grpc::Status denied = Transition(3, pb::STAGE_STAGING, &t);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(denied.error_message(), HasSubstr("champion v2"));
}

TEST_F(RegistryServicePgTest, ExportModelCardHasHistoryJsonAndMarkdown) {
  pb::ModelVersion v;
  ASSERT_TRUE(Register(Header("a", 0.80), "a", &v).ok());
  pb::TransitionRequest t;
  ASSERT_TRUE(Transition(1, pb::STAGE_STAGING, &t).ok());
  ASSERT_TRUE(Transition(1, pb::STAGE_PRODUCTION, &t).ok());
  pb::ExportModelCardRequest req;
  req.set_model("churn");  // version 0: the production version
  pb::ExportModelCardResponse card;
  ASSERT_TRUE(stub_->ExportModelCard(As("t-viewer").get(), req, &card).ok());
  EXPECT_EQ(card.card().version().version(), 1);
  EXPECT_EQ(card.card().transitions_size(), 2);
  ASSERT_EQ(card.card().stage_history_size(), 2);
  EXPECT_EQ(card.card().stage_history(1).to_stage(), pb::STAGE_PRODUCTION);
  EXPECT_FALSE(card.card().monitoring().available());
  EXPECT_GT(card.card().audit_head_sequence(), 0);
  EXPECT_THAT(card.json(), HasSubstr("\"intendedUse\": \"churn scoring\""));
  EXPECT_THAT(card.markdown(), HasSubstr("# Model card: churn version 1"));
  EXPECT_THAT(card.markdown(), HasSubstr("churn scoring"));
  EXPECT_THAT(card.markdown(), HasSubstr("Unavailable"));
  req.set_version(9);
  EXPECT_EQ(stub_->ExportModelCard(As("t-viewer").get(), req, &card).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(RegistryServicePgTest, CreateModelTwiceIsAlreadyExists) {
  pb::CreateModelRequest req;
  req.set_name("fraud");
  pb::Model m;
  ASSERT_TRUE(stub_->CreateModel(As("t-editor").get(), req, &m).ok());
  EXPECT_EQ(stub_->CreateModel(As("t-editor").get(), req, &m).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  req.set_name("9bad");
  EXPECT_EQ(stub_->CreateModel(As("t-editor").get(), req, &m).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RegistryServicePgTest, WatchDeploymentsSnapshotThenChangeWithinOneSecondThenDrain) {
  pb::ModelVersion v;
  ASSERT_TRUE(Register(Header("x", 0.8), "x", &v).ok());
  ASSERT_TRUE(Register(Header("y", 0.9), "y", &v).ok());
  pb::TransitionRequest t;
  ASSERT_TRUE(Transition(1, pb::STAGE_PRODUCTION, &t).ok());
  pb::SetEndpointConfigRequest set;
  set.mutable_config()->set_endpoint("churn_api");
  set.mutable_config()->set_model("churn");
  pb::EndpointConfig cfg;
  ASSERT_TRUE(stub_->SetEndpointConfig(As("t-deployer").get(), set, &cfg).ok());
  set.mutable_config()->set_model("nope");
  EXPECT_EQ(stub_->SetEndpointConfig(As("t-deployer").get(), set, &cfg).error_code(),
            grpc::StatusCode::NOT_FOUND);
  set.mutable_config()->set_model("churn");
  set.mutable_config()->mutable_promotion_rollout()->set_strategy(pb::ROLLOUT_STRATEGY_CANARY);
  set.mutable_config()->mutable_promotion_rollout()->mutable_canary()->add_steps()->set_percent(50);
  EXPECT_EQ(stub_->SetEndpointConfig(As("t-deployer").get(), set, &cfg).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  auto ctx = As("t-viewer");
  pb::WatchDeploymentsRequest req;
  req.add_endpoints("churn_api");
  auto reader = stub_->WatchDeployments(ctx.get(), req);
  pb::WatchDeploymentsResponse msg;
  int snapshots = 0;
  int64_t head = 0;
  while (reader->Read(&msg) && msg.kind() == pb::DEPLOYMENT_UPDATE_KIND_SNAPSHOT) {
    ++snapshots;
    if (msg.has_endpoint()) {
      ASSERT_EQ(msg.endpoint().versions_size(), 1);
      EXPECT_EQ(msg.endpoint().versions(0).version(), 1);
      EXPECT_EQ(msg.endpoint().versions(0).role(), pb::SERVED_VERSION_ROLE_PRIMARY);
    }
  }
  ASSERT_EQ(msg.kind(), pb::DEPLOYMENT_UPDATE_KIND_SNAPSHOT_COMPLETE);
  EXPECT_EQ(snapshots, 2);  // the endpoint and its model
  head = msg.sequence();

  const absl::Time promoted = absl::Now();
  ASSERT_TRUE(Transition(2, pb::STAGE_PRODUCTION, &t).ok());
  bool saw_endpoint = false;
  while (!saw_endpoint && reader->Read(&msg)) {
    ASSERT_EQ(msg.kind(), pb::DEPLOYMENT_UPDATE_KIND_CHANGE);
    EXPECT_GT(msg.sequence(), head);
    if (msg.has_endpoint() && msg.endpoint().versions_size() == 1 &&
        msg.endpoint().versions(0).version() == 2) {
      saw_endpoint = true;
      EXPECT_EQ(msg.change().kind(), pb::DEPLOYMENT_CHANGE_KIND_STAGE_CHANGED);
    }
  }
  EXPECT_TRUE(saw_endpoint);
  EXPECT_LT(absl::Now() - promoted, absl::Seconds(1));

  notifier_.Shutdown();  // what main does on drain
  while (reader->Read(&msg)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace mlops::registry

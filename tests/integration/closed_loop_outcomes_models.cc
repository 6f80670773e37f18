// The model outcomes of the closed loop (closed_loop_outcomes.h, items 4-8):
// lineage from model versions to dataset versions, the alert that caused the
// retraining, the champion/challenger gate, the automatic rollback of a worse
// candidate, and the audit chain.
#include <cstdio>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/demo/loop_steps.h"
#include "tests/integration/closed_loop_outcomes.h"

namespace mlops::testing_platform {
namespace {

namespace cv1 = ::mlops::common::v1;
namespace fv1 = ::mlops::features::v1;
namespace tv1 = ::mlops::training::v1;
namespace rv1 = ::mlops::registry::v1;
namespace mv1 = ::mlops::monitoring::v1;
namespace inv1 = ::mlops::inference::v1;

constexpr char kAutomaticRollback[] = "automatic rollback";

std::string Name(int64_t version) { return absl::StrCat(demo::kModel, "@", version); }

bool Names(const google::protobuf::RepeatedPtrField<cv1::ResourceRef>& refs, cv1::ResourceKind kind,
           const std::string& id) {
  for (const cv1::ResourceRef& r : refs) {
    if (r.kind() == kind && r.id() == id) return true;
  }
  return false;
}

// The call's status as "" (ok) or its message, for one-line assertions.
std::string Error(const grpc::Status& s) { return s.ok() ? "" : s.error_message(); }

std::string GetVersion(demo::PlatformClient& platform, int64_t version, rv1::ModelVersion* out) {
  rv1::GetModelVersionRequest request;
  request.set_model(demo::kModel);
  request.set_version(version);
  auto context = platform.Context();
  return Error(platform.registry().GetModelVersion(context.get(), request, out));
}

std::string GetRun(demo::PlatformClient& platform, const std::string& run_id, tv1::Run* out) {
  tv1::GetRunRequest request;
  request.set_run_id(run_id);
  auto context = platform.Context();
  return Error(platform.training().GetRun(context.get(), request, out));
}

// 4 for one version: its lineage reaches a dataset version that exists, the
// feature view versions exist, its run read that dataset version.
void ExpectLineageReachesData(demo::PlatformClient& platform, const std::set<std::string>& dataset_versions,
                              int64_t version) {
  rv1::ModelVersion mv;
  ASSERT_EQ(GetVersion(platform, version, &mv), "") << Name(version);
  const rv1::ModelLineage& l = mv.lineage();
  EXPECT_EQ(l.training_dataset_name(), demo::kDataset) << Name(version) << " lineage";
  EXPECT_TRUE(dataset_versions.count(l.training_dataset_version()))
      << Name(version) << " lineage names dataset version \"" << l.training_dataset_version()
      << "\", which " << demo::kDataset << " does not have";
  for (const rv1::Evaluation& e : mv.evaluations()) {
    EXPECT_TRUE(dataset_versions.count(e.dataset_version()))
        << Name(version) << " evaluation \"" << e.name() << "\" is on unknown dataset version "
        << e.dataset_version();
  }
  EXPECT_GT(l.feature_views_size(), 0) << Name(version) << " lineage names no feature view version";
  for (const rv1::FeatureViewVersion& fv : l.feature_views()) {
    fv1::GetFeatureViewRequest request;
    request.set_name(fv.name());
    request.set_version(fv.version());
    fv1::FeatureView view;
    auto context = platform.Context();
    EXPECT_EQ(Error(platform.features().GetFeatureView(context.get(), request, &view)), "")
        << Name(version) << " lineage names feature view " << fv.name() << "@" << fv.version();
    EXPECT_EQ(view.spec().source_dataset(), demo::kDataset) << fv.name() << "@" << fv.version();
  }
  tv1::Run run;
  ASSERT_EQ(GetRun(platform, l.run_id(), &run), "") << Name(version) << " lineage run " << l.run_id();
  EXPECT_EQ(run.inputs().dataset_version_id(), l.training_dataset_version())
      << "run " << l.run_id() << " of " << Name(version) << " read another dataset version";
  EXPECT_TRUE(Names(run.lineage().inputs(), cv1::RESOURCE_KIND_DATASET_VERSION, l.training_dataset_version()))
      << "run " << l.run_id() << " lineage does not name dataset version " << l.training_dataset_version();
  for (const rv1::FeatureViewVersion& fv : l.feature_views()) {
    EXPECT_TRUE(Names(run.lineage().inputs(), cv1::RESOURCE_KIND_FEATURE_VIEW_VERSION,
                      absl::StrCat(fv.name(), "@", fv.version())))
        << "run " << l.run_id() << " lineage does not name " << fv.name() << "@" << fv.version();
  }
}

}  // namespace

void ExpectModelLineageAndRetrainCause(demo::PlatformClient& platform, const DatasetFacts& facts,
                                       LoopFacts* loop) {
  // 5. The alert fired.
  mv1::ListAlertsRequest alerts_request;
  alerts_request.set_model(demo::kModel);
  mv1::ListAlertsResponse alerts;
  {
    auto context = platform.Context();
    ASSERT_EQ(Error(platform.monitoring().ListAlerts(context.get(), alerts_request, &alerts)), "")
        << "ListAlerts";
  }
  std::map<std::string, mv1::Alert> fired;
  for (const mv1::Alert& a : alerts.alerts()) {
    if (a.fired_at_micros() != 0) fired[a.id()] = a;
  }
  ASSERT_FALSE(fired.empty()) << "no alert of model " << demo::kModel << " fired (" << alerts.alerts_size()
                              << " alerts listed)";

  // ... and started the retraining job, whose model was registered.
  tv1::ListJobsRequest jobs_request;
  jobs_request.set_trigger_name(demo::kRetrainTrigger);
  tv1::ListJobsResponse jobs;
  {
    auto context = platform.Context();
    ASSERT_EQ(Error(platform.training().ListJobs(context.get(), jobs_request, &jobs)), "") << "ListJobs";
  }
  const tv1::TrainingJob* retrain = nullptr;
  for (const tv1::TrainingJob& j : jobs.jobs()) {
    if (j.state() != tv1::JOB_STATE_SUCCEEDED || j.registration().version() == 0) continue;
    if (retrain == nullptr || j.registration().version() < retrain->registration().version()) retrain = &j;
  }
  ASSERT_NE(retrain, nullptr) << "no job of trigger " << demo::kRetrainTrigger << " succeeded and registered a model ("
                              << jobs.jobs_size() << " jobs)";
  const tv1::TriggerCause& cause = retrain->cause();
  EXPECT_EQ(cause.kind(), tv1::TRIGGER_KIND_MONITORING_ALERT) << "job " << retrain->id();
  ASSERT_TRUE(fired.count(cause.alert_id()))
      << "job " << retrain->id() << " names alert \"" << cause.alert_id() << "\", which did not fire";
  loop->alert_id = cause.alert_id();
  loop->retrained_version = retrain->registration().version();

  const mv1::Alert& alert = fired[loop->alert_id];
  bool action_names_job = false;
  for (const mv1::ActionResult& r : alert.actions()) {
    action_names_job |= r.kind() == mv1::ACTION_KIND_RETRAIN && r.status() == mv1::ACTION_STATUS_SUCCEEDED &&
                        absl::StrContains(r.result(), retrain->id());
  }
  EXPECT_TRUE(action_names_job) << "alert " << alert.id() << " has no succeeded RETRAIN action naming job "
                                << retrain->id();
  tv1::Run run;
  ASSERT_EQ(GetRun(platform, retrain->best_run_id(), &run), "") << "best run of job " << retrain->id();
  EXPECT_TRUE(Names(run.lineage().inputs(), cv1::RESOURCE_KIND_ALERT, loop->alert_id))
      << "run " << run.id() << " (retraining) lineage does not name alert " << loop->alert_id;
  EXPECT_EQ(run.cause().alert_id(), loop->alert_id) << "run " << run.id() << " cause";
  rv1::ModelVersion retrained;
  ASSERT_EQ(GetVersion(platform, loop->retrained_version, &retrained), "") << Name(loop->retrained_version);
  EXPECT_EQ(retrained.lineage().run_id(), retrain->best_run_id()) << Name(loop->retrained_version) << " lineage";
  EXPECT_TRUE(Names(retrained.lineage().other_inputs(), cv1::RESOURCE_KIND_ALERT, loop->alert_id))
      << Name(loop->retrained_version) << " lineage does not name alert " << loop->alert_id;
  EXPECT_TRUE(Names(retrained.lineage().other_inputs(), cv1::RESOURCE_KIND_PIPELINE_TRIGGER, demo::kRetrainTrigger))
      << Name(loop->retrained_version) << " lineage does not name trigger " << demo::kRetrainTrigger;

  // 4. Both the first version and the retrained one reach the data.
  rv1::ListModelVersionsRequest list;
  list.set_model(demo::kModel);
  list.set_order(rv1::MODEL_VERSION_ORDER_VERSION_ASC);
  rv1::ListModelVersionsResponse versions;
  {
    auto context = platform.Context();
    ASSERT_EQ(Error(platform.registry().ListModelVersions(context.get(), list, &versions)), "");
  }
  ASSERT_GE(versions.versions_size(), 2) << "model versions of " << demo::kModel;
  loop->first_version = versions.versions(0).version();
  EXPECT_LT(loop->first_version, loop->retrained_version);
  std::set<std::string> ids;
  for (const auto& v : facts.versions) ids.insert(v.id());
  ExpectLineageReachesData(platform, ids, loop->first_version);
  ExpectLineageReachesData(platform, ids, loop->retrained_version);
  std::printf("4-5. %s and %s reach the data; alert %s -> job %s -> run %s -> %s\n",
              Name(loop->first_version).c_str(), Name(loop->retrained_version).c_str(),
              loop->alert_id.c_str(), retrain->id().c_str(), retrain->best_run_id().c_str(),
              Name(loop->retrained_version).c_str());
}

void ExpectChampionChallengerPassed(demo::PlatformClient& platform, const LoopFacts& loop) {
  rv1::ListTransitionRequestsRequest request;
  request.set_model(demo::kModel);
  request.set_version(loop.retrained_version);
  request.set_target_stage(rv1::STAGE_PRODUCTION);
  request.add_statuses(rv1::TRANSITION_STATUS_GRANTED);
  rv1::ListTransitionRequestsResponse response;
  auto context = platform.Context();
  ASSERT_EQ(Error(platform.registry().ListTransitionRequests(context.get(), request, &response)), "");
  ASSERT_EQ(response.requests_size(), 1) << "granted transitions of " << Name(loop.retrained_version)
                                         << " to PRODUCTION";
  const rv1::TransitionRequest& tr = response.requests(0);
  EXPECT_EQ(tr.replaced_production_version(), loop.first_version) << "transition " << tr.id();
  int found = 0;
  for (const rv1::CheckResult& c : tr.gate_report().checks()) {
    if (c.kind() != rv1::CHECK_KIND_CHAMPION_CHALLENGER) continue;
    ++found;
    EXPECT_EQ(c.outcome(), rv1::CHECK_OUTCOME_PASSED)
        << "check \"" << c.name() << "\" of " << tr.id() << ": " << rv1::CheckOutcome_Name(c.outcome()) << " "
        << c.message();
    EXPECT_EQ(c.champion_version(), loop.first_version)
        << "check \"" << c.name() << "\" compared against the wrong champion";
    std::printf("6. %s of %s: %s, candidate %g vs champion %s %g\n", c.name().c_str(), tr.id().c_str(),
                rv1::CheckOutcome_Name(c.outcome()).c_str(), c.candidate_value(),
                Name(c.champion_version()).c_str(), c.champion_value());
  }
  EXPECT_GE(found, 1) << "the gate of " << Name(loop.retrained_version) << "'s promotion (" << tr.id()
                      << ", " << tr.gate_report().checks_size()
                      << " checks) had no CHECK_KIND_CHAMPION_CHALLENGER check";
}

void ExpectWorseCandidateRolledBack(demo::PlatformClient& platform, const LoopFacts& loop) {
  // The registry's audit: a ROLLBACK of a later candidate on the endpoint,
  // decided by the gateway's canary analysis.
  rv1::GetAuditLogRequest audit_request;
  audit_request.set_endpoint(demo::kEndpoint);
  audit_request.add_event_types(rv1::AUDIT_EVENT_TYPE_ROLLBACK);
  audit_request.mutable_page()->set_page_size(1000);
  rv1::GetAuditLogResponse audit;
  {
    auto context = platform.Context();
    ASSERT_EQ(Error(platform.registry().GetAuditLog(context.get(), audit_request, &audit)), "");
  }
  const rv1::AuditEntry* rollback = nullptr;
  for (const rv1::AuditEntry& e : audit.entries()) {
    if (e.version() > loop.retrained_version) rollback = &e;
  }
  ASSERT_NE(rollback, nullptr) << "no ROLLBACK audit entry on endpoint " << demo::kEndpoint
                               << " for a candidate after " << Name(loop.retrained_version) << " ("
                               << audit.entries_size() << " ROLLBACK entries)";
  const int64_t worse = rollback->version();
  EXPECT_TRUE(absl::StrContains(rollback->reason(), kAutomaticRollback))
      << "the rollback of " << Name(worse) << " was not the canary analysis': " << rollback->reason();
  EXPECT_TRUE(absl::StrContains(rollback->after_json(), "ROLLED_BACK")) << rollback->after_json();

  // Stages restored: the retrained version is production again, the worse one archived.
  rv1::ModelVersion mv;
  ASSERT_EQ(GetVersion(platform, worse, &mv), "") << Name(worse);
  EXPECT_EQ(mv.stage(), rv1::STAGE_ARCHIVED) << Name(worse) << " after its rollback";
  ASSERT_EQ(GetVersion(platform, loop.retrained_version, &mv), "");
  EXPECT_EQ(mv.stage(), rv1::STAGE_PRODUCTION) << Name(loop.retrained_version) << " after the rollback";

  // The registry's record of the endpoint's last rollout (its deployment snapshot).
  rv1::WatchDeploymentsRequest watch;
  watch.add_endpoints(demo::kEndpoint);
  watch.set_watcher_id("closed-loop-test");
  {
    auto context = platform.Context(std::chrono::milliseconds(10000));
    auto reader = platform.registry().WatchDeployments(context.get(), watch);
    rv1::WatchDeploymentsResponse message;
    rv1::EndpointDeployment deployment;
    while (reader->Read(&message) && message.kind() != rv1::DEPLOYMENT_UPDATE_KIND_SNAPSHOT_COMPLETE) {
      if (message.has_endpoint()) deployment = message.endpoint();
    }
    context->TryCancel();
    reader->Finish();
    const rv1::DeploymentRollout& r = deployment.rollout();
    EXPECT_EQ(r.candidate_version(), worse) << "the registry's last rollout of " << demo::kEndpoint;
    EXPECT_EQ(r.primary_version(), loop.retrained_version) << "the registry's last rollout";
    EXPECT_EQ(r.state(), rv1::ROLLOUT_STATE_ROLLED_BACK)
        << "the registry's rollout of " << Name(worse) << ": " << rv1::RolloutState_Name(r.state());
    EXPECT_TRUE(absl::StrContains(r.reason(), kAutomaticRollback)) << r.reason();
    for (const rv1::ServedVersion& v : deployment.versions()) {
      EXPECT_EQ(v.version(), loop.retrained_version)
          << demo::kEndpoint << " must serve only " << Name(loop.retrained_version) << " after the rollback";
    }
  }

  // The gateway agrees, and answers with the retrained version.
  auto rollout = demo::EndpointRollout(platform);
  ASSERT_TRUE(rollout.ok()) << rollout.status();
  EXPECT_EQ(rollout->candidate_version(), worse) << "the gateway's rollout";
  EXPECT_EQ(rollout->state(), rv1::ROLLOUT_STATE_ROLLED_BACK)
      << "the gateway's rollout of " << Name(worse) << ": " << rv1::RolloutState_Name(rollout->state());
  EXPECT_TRUE(absl::StrContains(rollout->rollback_reason(), kAutomaticRollback)) << rollout->rollback_reason();
  auto predictions = demo::PredictForCustomers(platform, loop.customers, "outcome-check");
  ASSERT_TRUE(predictions.ok()) << predictions.status();
  ASSERT_EQ(predictions->predictions_size(), static_cast<int>(loop.customers.size()));
  for (const inv1::RowPrediction& p : predictions->predictions()) {
    EXPECT_EQ(p.version(), loop.retrained_version) << "prediction " << p.request_id() << " came from "
                                                   << Name(p.version());
    EXPECT_EQ(p.variant(), inv1::VARIANT_PRIMARY) << "prediction " << p.request_id();
  }
  std::printf("7. %s rolled back (%s); production %s; %d predictions checked\n", Name(worse).c_str(),
              rollback->reason().c_str(), Name(loop.retrained_version).c_str(),
              predictions->predictions_size());
}

void ExpectAuditLogVerifies(demo::PlatformClient& platform) {
  // The newest entry first, then the verification, which must cover it.
  rv1::GetAuditLogRequest newest;
  newest.set_newest_first(true);
  newest.mutable_page()->set_page_size(1);
  rv1::GetAuditLogResponse log;
  {
    auto context = platform.Context();
    ASSERT_EQ(Error(platform.registry().GetAuditLog(context.get(), newest, &log)), "");
  }
  ASSERT_EQ(log.entries_size(), 1) << "the audit log is empty";
  rv1::VerifyAuditLogResponse verified;
  rv1::VerifyAuditLogRequest request;
  auto context = platform.Context(std::chrono::milliseconds(60000));
  ASSERT_EQ(Error(platform.registry().VerifyAuditLog(context.get(), request, &verified)), "");
  EXPECT_TRUE(verified.ok()) << "audit chain broken at entry " << verified.first_broken_sequence() << " ("
                             << rv1::AuditBreak_Name(verified.break_kind()) << "): expected "
                             << verified.expected_hash() << ", got " << verified.actual_hash();
  EXPECT_GE(verified.entries_checked(), log.entries(0).sequence())
      << "VerifyAuditLog checked fewer entries than the log held before it";
  std::printf("8. VerifyAuditLog: %s, %lld entries\n", verified.ok() ? "ok" : "BROKEN",
              static_cast<long long>(verified.entries_checked()));
}

}  // namespace mlops::testing_platform

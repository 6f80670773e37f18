// mlops-demo: the closed loop on a running platform (scripts/run-local.sh
// starts the platform and then this). Data in, model out, drift
// detected, model replaced, with no person in the loop after the first
// deployment:
//   1. a transactions dataset with expectations; history ingested; a bad
//      batch rejected with a readable report;
//   2. a feature view with windowed aggregates;
//   3. a fraud model trained with a small search; its job asks for
//      production; the gate's checks pass and a person approves (the first
//      deployment's policy); then the gate policy for retrains drops the
//      approval;
//   4. live traffic scored through the gateway (the purchase's own values
//      inline, windowed aggregates by customer id), labels late;
//   5. drift injected: amounts shift and the fraud pattern changes;
//   6. monitoring sees the amounts drift; its alert fires the retraining
//      trigger; the job asks for production, passes the gate, and the
//      gateway rolls the new model out by canary; then a deliberately worse
//      candidate passes the offline gate and the canary analysis rolls it
//      back by itself;
//   7. the timeline of the loop, where the model card is, what to ask
//      Prometheus.
// Exit 0 when the retrained model serves all traffic and the worse one was
// rolled back, 1 otherwise.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/config/file_util.h"
#include "tests/demo/live_traffic.h"
#include "tests/demo/loop_phases.h"
#include "tests/demo/loop_steps.h"

ABSL_FLAG(std::string, ingestion_addr, "127.0.0.1:50051", "ingestion service");
ABSL_FLAG(std::string, features_addr, "127.0.0.1:50052", "feature service");
ABSL_FLAG(std::string, training_addr, "127.0.0.1:50053", "training service");
ABSL_FLAG(std::string, registry_addr, "127.0.0.1:50054", "registry service");
ABSL_FLAG(std::string, gateway_addr, "127.0.0.1:50055", "inference gateway");
ABSL_FLAG(std::string, monitoring_addr, "127.0.0.1:50056", "monitoring service");
ABSL_FLAG(std::string, token_file, ".run/admin.token", "file whose first line is an admin token");
ABSL_FLAG(std::string, approver_token_file, "",
          "file whose first line is the token of the person approving the first deployment "
          "(deployer or admin); empty = the --token_file principal (the request comes from the "
          "training service's principal, so four eyes still hold)");
ABSL_FLAG(std::string, prometheus_url, "",
          "a Prometheus scraping the services, named in the final timeline (empty = none)");
ABSL_FLAG(int, customers, 1000, "customers in the generated data");
ABSL_FLAG(int, history_minutes, 240,
          "history before now, at the live rate (the first hour only fills the windows)");
ABSL_FLAG(int, live_per_second, 10, "purchases per second, in history and live");
ABSL_FLAG(int, calm_seconds, 30, "live traffic before the drift");
ABSL_FLAG(int, timeout_seconds, 600, "give up after this long");

namespace mlops::demo {
namespace {

namespace rv1 = ::mlops::registry::v1;

const Narrator kNarrator;

void Say(const std::string& text) { kNarrator.Say(text); }

int Fail(const std::string& step, const absl::Status& status) {
  Say(absl::StrCat("FAILED at ", step, ": ", status.ToString()));
  return 1;
}

#define DEMO_STEP(step, expr)                                      \
  do {                                                             \
    if (absl::Status s_ = (expr); !s_.ok()) return Fail(step, s_); \
  } while (0)

absl::StatusOr<std::string> ReadToken(const std::string& path) {
  auto token = ReadFileToString(path);
  if (!token.ok()) return token.status();
  std::string out = *token;
  out.erase(out.find_last_not_of(" \r\n") + 1);
  return out;
}

int Run() {
  auto admin = ReadToken(absl::GetFlag(FLAGS_token_file));
  if (!admin.ok()) return Fail("reading the token", admin.status());
  const PlatformAddresses addresses{
      absl::GetFlag(FLAGS_ingestion_addr), absl::GetFlag(FLAGS_features_addr),
      absl::GetFlag(FLAGS_training_addr),  absl::GetFlag(FLAGS_registry_addr),
      absl::GetFlag(FLAGS_gateway_addr),   absl::GetFlag(FLAGS_monitoring_addr)};
  PlatformClient platform(addresses, *admin);
  std::string approver_token = *admin;
  if (!absl::GetFlag(FLAGS_approver_token_file).empty()) {
    auto token = ReadToken(absl::GetFlag(FLAGS_approver_token_file));
    if (!token.ok()) return Fail("reading the approver's token", token.status());
    approver_token = *token;
  }
  PlatformClient approver(addresses, approver_token);
  const absl::Time give_up = absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_timeout_seconds));

  // 1. Data.
  Say("1. dataset card_transactions with expectations (amount in range, known merchant codes)");
  DEMO_STEP("create dataset", CreateTransactionsDataset(platform));
  TransactionGenerator generator(absl::GetFlag(FLAGS_customers), 2026);
  const int64_t now = absl::ToUnixMicros(absl::Now());
  const int64_t history_seconds = int64_t{60} * absl::GetFlag(FLAGS_history_minutes);
  const int64_t history_start = now - history_seconds * 1000000;
  // History at the live rate, so that windowed features look the same live.
  auto history = IngestTransactions(
      platform,
      generator.Generate(history_start, now - 1000000,
                         static_cast<int>(history_seconds * absl::GetFlag(FLAGS_live_per_second))),
      "demo:history");
  if (!history.ok()) return Fail("ingest history", history.status());
  Say(absl::StrCat("   history: version ", history->version().id().substr(0, 12), ", ",
                   history->version().row_count(), " rows"));
  std::vector<Transaction> bad = generator.Generate(now - 60 * 1000000, now, 20);
  bad[4].amount = -120;  // breaks amount_in_range
  bad[11].mcc = 9999;    // breaks known_merchant_code
  auto rejected = IngestTransactions(platform, bad, "demo:bad_batch");
  if (!rejected.ok()) return Fail("ingest bad batch", rejected.status());
  Say(absl::StrCat("   a bad batch: ",
                   rejected->outcome() == ingestion::v1::INGEST_OUTCOME_REJECTED ? "REJECTED" : "ACCEPTED (!)",
                   ", ", rejected->report().error_count(), " failed expectations; nothing stored"));
  for (const auto& r : rejected->report().results()) {
    if (r.passed()) continue;
    Say(absl::StrCat("     ", r.expectation().name(), ": ", r.failing_count(), " row(s), e.g. row ",
                     r.examples().empty() ? -1 : r.examples(0).row_index()));
  }

  // 2. Features.
  auto view = RegisterCardActivityView(platform);
  if (!view.ok()) return Fail("register feature view", view.status());
  Say(absl::StrCat("2. feature view card_activity@", view->version(), ": ",
                   view->spec().features_size(), " features (latest values, 10 min and 1 h windows)"));
  DEMO_STEP("materialize", MaterializeCardActivity(platform));

  // 3. Model: train; gate; approve; promote.
  Say("3. train; gate; approve; canary; promote: XGBoost, random search of 4 trials, features "
      "through point-in-time joins");
  auto first_policy = SetFirstDeploymentGate(platform);
  if (!first_policy.ok()) return Fail("gate policy", first_policy.status());
  Say(absl::StrCat("   gate policy v", *first_policy, " (first deployment): test AUC >= 0.75, and "
                   "production needs one approval by a deployer other than the requester"));
  const training::v1::TrainingJobSpec spec = FraudJobSpec(4);
  // Training jobs ask the registry for production themselves: the first one
  // waits for a person there; retrains (the trigger's job, which keeps
  // transition_to_stage) do not.
  training::v1::TrainingJobSpec to_production = spec;
  to_production.mutable_register_model()->set_transition_to_stage("production");
  auto job = RunTrainingJob(platform, to_production, absl::Seconds(300));
  if (!job.ok()) return Fail("training", job.status());
  Timeline timeline;
  timeline.first = job->registration().version();
  Say(absl::StrFormat("   job %s (%s): best test AUC %.3f; registered fraud@%d; it asked for production",
                      job->id(), JobTimes(*job), job->best_test_metrics().at("test_auc"),
                      timeline.first));
  const training::v1::TrainingJobSpec retrain = RetrainJobSpec(*job);
  DEMO_STEP("retrain trigger", CreateRetrainTrigger(platform, retrain));
  std::string params;
  for (const auto& [key, value] : retrain.hyperparameters()) {
    absl::StrAppend(&params, params.empty() ? "" : ", ", key, "=", value);
  }
  Say(absl::StrCat("   retrain trigger: on a drift alert, one trial with the searched parameters (",
                   params, ") on the newest data, asking for production"));
  DEMO_STEP("endpoint", CreateEndpoint(platform, /*canary=*/true, absl::Seconds(5)));
  auto pending = PendingProductionRequest(platform, timeline.first);
  if (!pending.ok()) {
    return Fail("approval", absl::FailedPreconditionError(absl::StrCat(
                                pending.status().message(), "; the job's transition: ",
                                job->registration().transition_detail())));
  }
  Say(absl::StrCat("   request ", pending->id(), " by ", pending->requested_by(), ": checks passed (",
                   GateChecks(pending->gate_report()), "); PENDING_APPROVAL"));
  auto approved = ApproveRequest(approver, pending->id(),
                                 "first deployment: gate report and model card reviewed");
  if (!approved.ok()) return Fail("approval", approved.status());
  const rv1::Approval& approval = approved->approvals(approved->approvals_size() - 1);
  Say(absl::StrCat("   APPROVED by ", approval.principal(), " (", approval.role(), "): fraud@",
                   timeline.first, " is in production behind endpoint fraud_api (the first "
                   "version: nothing to canary against, it serves at once)"));
  DEMO_STEP("materialize", MaterializeCardActivity(platform));
  auto samples = ModelSampleRows(platform, timeline.first, 50);
  if (!samples.ok()) return Fail("sample rows", samples.status());
  auto retrain_policy = SetRetrainGate(platform, *samples);
  if (!retrain_policy.ok()) return Fail("gate policy", retrain_policy.status());
  Say(absl::StrCat("   gate policy v", *retrain_policy, " for retrains: test AUC >= 0.75, p95 "
                   "latency <= 20 ms, AUC >= production's ", absl::StrFormat("%+.2f", kChampionTolerance),
                   " on the same test split (champion/challenger), no approval: retraining is "
                   "autonomous, the live canary analysis guards it"));
  // Monitoring follows the registry: the promotion gave fraud@1 its reference.
  auto reference = AwaitAutomaticReference(platform, timeline.first, absl::Seconds(120));
  if (!reference.ok()) return Fail("reference", reference.status());
  Say(absl::StrCat("   monitoring set the reference of fraud@", timeline.first, " on its own: ",
                   reference->profile().columns_size(), " inputs over ",
                   reference->profile().row_count(), " training rows of version ",
                   reference->dataset_version().substr(0, 12)));
  // Windows of 10 s (the smallest monitoring takes); half a window of
  // traffic is enough to judge one.
  const int64_t min_samples = std::max(20, absl::GetFlag(FLAGS_live_per_second) * 5);
  DEMO_STEP("monitoring", ConfigureMonitoring(platform, absl::Seconds(10), min_samples));
  Say(absl::StrCat("   monitoring: 10 s windows (at least ", min_samples,
                   " predictions); alert when the purchase amount drifts -> retrain"));

  // 4. Calm traffic.
  LiveTraffic traffic(platform, generator, absl::GetFlag(FLAGS_live_per_second), absl::Seconds(5));
  Say("4. live traffic scored through the gateway: the purchase's own amount, merchant code and "
      "foreign flag inline, windowed aggregates by customer id; labels arrive 5 s later");
  for (int i = 0; i < absl::GetFlag(FLAGS_calm_seconds); ++i) {
    (void)traffic.Tick();
    absl::SleepFor(absl::Seconds(1) - absl::Milliseconds(200));
  }
  Say(absl::StrCat("   scored ", traffic.stats().scored, " (", VersionCounts(traffic.stats()), "), ",
                   traffic.stats().labels_sent, " labels"));

  // 5-6. Drift, alert, retrain, canary; then the worse candidate.
  const LoopContext loop{platform, traffic, kNarrator, give_up};
  DEMO_STEP("the loop", CloseTheLoop(loop, generator, &timeline));
  DEMO_STEP("the worse candidate", RollBackWorseCandidate(loop, &timeline));

  // 7. Timeline.
  PrintTimeline(kNarrator, timeline, absl::GetFlag(FLAGS_prometheus_url));
  Say(absl::StrCat("DONE: scored ", traffic.stats().scored, " live purchases (",
                   VersionCounts(traffic.stats()), "), ", traffic.stats().labels_sent,
                   " labels, ", traffic.stats().failed_calls, " failed calls"));
  return 0;
}

}  // namespace
}  // namespace mlops::demo

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return mlops::demo::Run();
}

// mlops-demo: the closed loop on a running platform (scripts/run-local.sh
// starts the platform and then this). Data in, model out, drift
// detected, model replaced, with no person in the loop:
//   1. a transactions dataset with expectations; history ingested; a bad
//      batch rejected with a readable report;
//   2. a feature view with windowed aggregates;
//   3. a fraud model trained with a small search, gated, promoted;
//   4. live traffic scored through the gateway by customer id, labels late;
//   5. drift injected: amounts shift and the fraud pattern changes;
//   6. monitoring sees the amounts drift; its alert fires the retraining trigger;
//   7. the retraining job asks for production, the new model passes the gate,
//      and the gateway rolls it out by canary.
// Exit 0 when the new model serves all traffic, 1 otherwise.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/config/file_util.h"
#include "tests/demo/live_traffic.h"
#include "tests/demo/loop_steps.h"

ABSL_FLAG(std::string, ingestion_addr, "127.0.0.1:50051", "ingestion service");
ABSL_FLAG(std::string, features_addr, "127.0.0.1:50052", "feature service");
ABSL_FLAG(std::string, training_addr, "127.0.0.1:50053", "training service");
ABSL_FLAG(std::string, registry_addr, "127.0.0.1:50054", "registry service");
ABSL_FLAG(std::string, gateway_addr, "127.0.0.1:50055", "inference gateway");
ABSL_FLAG(std::string, monitoring_addr, "127.0.0.1:50056", "monitoring service");
ABSL_FLAG(std::string, token_file, ".run/admin.token", "file whose first line is an admin token");
ABSL_FLAG(int, customers, 1000, "customers in the generated data");
ABSL_FLAG(int, history_minutes, 240,
          "history before now, at the live rate (the first hour only fills the windows)");
ABSL_FLAG(int, live_per_second, 10, "purchases per second, in history and live");
ABSL_FLAG(int, calm_seconds, 30, "live traffic before the drift");
ABSL_FLAG(int, timeout_seconds, 600, "give up after this long");

namespace mlops::demo {
namespace {

const absl::Time kStart = absl::Now();

void Say(const std::string& text) {
  const int64_t s = absl::ToInt64Seconds(absl::Now() - kStart);
  std::printf("[%02lld:%02lld] %s\n", static_cast<long long>(s / 60), static_cast<long long>(s % 60),
              text.c_str());
  std::fflush(stdout);
}

int Fail(const std::string& step, const absl::Status& status) {
  Say(absl::StrCat("FAILED at ", step, ": ", status.ToString()));
  return 1;
}

#define DEMO_STEP(step, expr)                                \
  do {                                                       \
    if (absl::Status s_ = (expr); !s_.ok()) return Fail(step, s_); \
  } while (0)

std::string VersionCounts(const LiveTraffic::Stats& stats) {
  std::string out;
  for (const auto& [version, rows] : stats.scored_by_version) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", "v", version, ": ", rows);
  }
  return out;
}

int Run() {
  auto token = ReadFileToString(absl::GetFlag(FLAGS_token_file));
  if (!token.ok()) return Fail("reading the token", token.status());
  std::string admin = *token;
  admin.erase(admin.find_last_not_of(" \r\n") + 1);
  PlatformClient platform({absl::GetFlag(FLAGS_ingestion_addr), absl::GetFlag(FLAGS_features_addr),
                           absl::GetFlag(FLAGS_training_addr), absl::GetFlag(FLAGS_registry_addr),
                           absl::GetFlag(FLAGS_gateway_addr), absl::GetFlag(FLAGS_monitoring_addr)},
                          admin);
  const absl::Time give_up = kStart + absl::Seconds(absl::GetFlag(FLAGS_timeout_seconds));

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

  // 3. Model.
  const training::v1::TrainingJobSpec spec = FraudJobSpec(4);
  Say("3. training: XGBoost, random search of 4 trials, features through point-in-time joins");
  auto job = RunTrainingJob(platform, spec, absl::Seconds(300));
  if (!job.ok()) return Fail("training", job.status());
  // The retraining job asks the registry for production itself: no person in the loop.
  training::v1::TrainingJobSpec retrain = spec;
  retrain.mutable_register_model()->set_transition_to_stage("production");
  DEMO_STEP("retrain trigger", CreateRetrainTrigger(platform, retrain));
  const int64_t first = job->registration().version();
  Say(absl::StrFormat("   job %s: best test AUC %.3f; registered fraud@%d", job->id(),
                      job->best_test_metrics().at("test_auc"), first));
  DEMO_STEP("endpoint", CreateEndpoint(platform, /*canary=*/true, absl::Seconds(5)));
  DEMO_STEP("materialize", MaterializeCardActivity(platform));
  auto samples = ModelSampleRows(platform, first, 50);
  if (!samples.ok()) return Fail("sample rows", samples.status());
  DEMO_STEP("gate policy", SetFraudGatePolicy(platform, *samples));
  auto gate = Promote(platform, first);
  if (!gate.ok()) return Fail("promote", gate.status());
  Say(absl::StrCat("   gate passed (", *gate, "): fraud@", first,
                   " is in production behind endpoint fraud_api"));
  // Monitoring follows the registry: the promotion gave fraud@1 its reference.
  auto reference = AwaitAutomaticReference(platform, first, absl::Seconds(120));
  if (!reference.ok()) return Fail("reference", reference.status());
  Say(absl::StrCat("   monitoring set the reference of fraud@", first, " on its own: ",
                   reference->profile().columns_size(), " inputs over ",
                   reference->profile().row_count(), " training rows of version ",
                   reference->dataset_version().substr(0, 12)));
  DEMO_STEP("monitoring", ConfigureMonitoring(platform, absl::Seconds(20)));
  Say("   monitoring: 20 s windows; alert when the purchase amount drifts -> retrain");

  // 4. Calm traffic.
  LiveTraffic traffic(platform, generator, absl::GetFlag(FLAGS_live_per_second), absl::Seconds(5));
  Say("4. live traffic scored by customer id; labels arrive 5 s later");
  for (int i = 0; i < absl::GetFlag(FLAGS_calm_seconds); ++i) {
    (void)traffic.Tick();
    absl::SleepFor(absl::Seconds(1) - absl::Milliseconds(200));
  }
  Say(absl::StrCat("   scored ", traffic.stats().scored, " (", VersionCounts(traffic.stats()), "), ",
                   traffic.stats().labels_sent, " labels"));

  // 5-7. Drift, alert, retrain, rollout.
  generator.Drift();
  const absl::Time drifted_at = absl::Now();
  Say("5. DRIFT: amounts x2.5; fraud moves to bursts of small gift-card purchases");
  absl::Time alert_at = absl::InfinitePast(), trained_at = absl::InfinitePast();
  int64_t second = 0;
  std::string alert_id;
  while (absl::Now() < give_up) {
    (void)traffic.Tick();
    if (alert_at == absl::InfinitePast()) {
      auto alerts = FiringAlerts(platform);
      for (const auto& alert : alerts.ok() ? *alerts : std::vector<monitoring::v1::Alert>{}) {
        if (alert.fired_at_micros() < absl::ToUnixMicros(drifted_at)) continue;
        alert_at = absl::Now();
        alert_id = alert.id();
        Say(absl::StrCat("6. ALERT ", alert.id(), " fired ",
                         absl::FormatDuration(absl::Trunc(alert_at - drifted_at, absl::Seconds(1))),
                         " after the drift: ", alert.summary()));
        break;
      }
    } else if (second == 0) {
      auto jobs = RetrainJobs(platform);
      if (jobs.ok()) {
        for (const auto& j : *jobs) {
          if (j.cause().alert_id() != alert_id) continue;
          if (j.state() == training::v1::JOB_STATE_SUCCEEDED && j.registration().version() > first) {
            second = j.registration().version();
            trained_at = absl::Now();
            Say(absl::StrFormat("   retrained by the alert (job %s, cause: %s): fraud@%d, test AUC %.3f",
                                j.id(), j.cause().reason(), second,
                                j.best_test_metrics().count("test_auc") ? j.best_test_metrics().at("test_auc") : 0));
            if (!j.registration().transition_granted()) {
              return Fail("the gate of the retrained model",
                          absl::FailedPreconditionError(j.registration().transition_detail()));
            }
            Say(absl::StrCat("7. the training job asked for production; the gate said ",
                             j.registration().transition_detail(),
                             "; the registry starts the endpoint's canary"));
          } else if (j.state() == training::v1::JOB_STATE_FAILED) {
            return Fail("retraining", absl::AbortedError(j.failure_reason()));
          }
        }
      }
    } else {
      auto rollout = EndpointRollout(platform);
      if (rollout.ok() && rollout->candidate_version() == second) {
        if (rollout->state() == registry::v1::ROLLOUT_STATE_COMPLETED) {
          Say(absl::StrCat("   canary COMPLETED: fraud@", second, " serves all traffic (",
                           VersionCounts(traffic.stats()), ")"));
          Say(absl::StrCat("DONE: drift -> alert ",
                           absl::FormatDuration(absl::Trunc(alert_at - drifted_at, absl::Seconds(1))),
                           ", -> retrained model ",
                           absl::FormatDuration(absl::Trunc(trained_at - drifted_at, absl::Seconds(1))),
                           ", -> serving ",
                           absl::FormatDuration(absl::Trunc(absl::Now() - drifted_at, absl::Seconds(1)))));
          return 0;
        }
        if (rollout->state() == registry::v1::ROLLOUT_STATE_ROLLED_BACK) {
          return Fail("canary", absl::AbortedError(rollout->rollback_reason()));
        }
      }
    }
    absl::SleepFor(absl::Milliseconds(800));
  }
  return Fail("the loop", absl::DeadlineExceededError("it did not close in time"));
}

}  // namespace
}  // namespace mlops::demo

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return mlops::demo::Run();
}

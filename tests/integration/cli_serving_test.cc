// mlopsctl's serving and monitoring commands against the six real binaries:
// a model trained from a JSON spec and promoted, `predict --csv` in batches
// through the gateway, `batch score --wait` and `batch status` (input columns
// and point in time), `rollout set` (a shadow of a staging version; the
// refusals with their exit codes), `monitoring policy set|list` from a JSON
// file and `alerts list|show`.
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_platform_test.h"
#include "tests/integration/service_binaries.h"

namespace mlops::testing_platform {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;

// One trial on the inline column `amount`; registered as "fraud", optionally
// moved to a stage through the gate.
std::string JobSpec(const std::string& stage) {
  return absl::StrCat(R"({"experiment": "serving",
    "data": {"dataset": "transactions", "datasetFeatureColumns": ["amount"], "labelColumn": "is_fraud"},
    "trainer": {"kind": "TRAINER_KIND_XGBOOST_GBTREE", "objective": "OBJECTIVE_BINARY_LOGISTIC"},
    "hyperparameters": {"num_boost_round": "8", "max_depth": "3"},
    "registerModel": {"modelName": "fraud", "transitionToStage": ")", stage, R"("}})");
}

constexpr char kPolicy[] = R"({"model": "fraud", "name": "slow", "metric": "ALERT_METRIC_P99_LATENCY",
  "comparison": "COMPARISON_GREATER_OR_EQUAL", "threshold": 50000, "windowMicros": "60000000",
  "severity": "SEVERITY_WARNING"})";

class CliServingTest : public CliPlatformTest {
 protected:
  void SetUp() override { StartPlatform(AllServiceBinaries()); }
};

TEST_F(CliServingTest, PredictCsvRolloutSetPoliciesAndAlerts) {
  ASSERT_EQ(
      Cli({"datasets", "create", "transactions", "--schema=" + WriteFile("tx.json", kTransactionsDefinition)})
          .exit_code,
      0);
  std::string events = "customer_id,ts,amount,is_fraud\n";
  for (int i = 0; i < 1000; ++i) {
    const double amount = (i * 37) % 100 + 0.5;
    absl::StrAppend(&events, "c", i % 20, ",2026-01-01T", i / 60 % 24 < 10 ? "0" : "", i / 60 % 24, ":",
                    i % 60 < 10 ? "0" : "", i % 60, ":00Z,", amount, ",", amount > 80 ? "true" : "false", "\n");
  }
  CliResult ingested = Cli({"datasets", "ingest", "transactions", WriteFile("events.csv", events)});
  ASSERT_EQ(ingested.exit_code, 0) << ingested.output;

  // Version 1, registered only; the endpoint; then promoted through the CLI.
  CliResult first = Cli({"training", "submit", WriteFile("job1.json", JobSpec("")), "--watch"});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_THAT(first.output, HasSubstr("registered fraud@1"));
  ASSERT_EQ(Cli({"endpoints", "set", "fraud_api", "--model=fraud"}).exit_code, 0);
  CliResult promoted = Cli({"models", "promote", "fraud@1", "--to=production"});
  ASSERT_EQ(promoted.exit_code, 0) << promoted.output;

  // predict --csv: 5 rows in batches of 2; the gateway learns of the promotion
  // through WatchDeployments, so retry briefly.
  const std::string rows = WriteFile("rows.csv", "request_id,amount\nt1,10.5\nt2,95.5\nt3,\nt4,50\nt5,99.5\n");
  CliResult predicted;
  for (int attempt = 0; attempt < 50; ++attempt) {
    predicted = Cli({"predict", "--endpoint", "fraud_api", "--csv", rows, "--batch", "2"});
    if (predicted.exit_code == 0) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(predicted.exit_code, 0) << predicted.output;
  EXPECT_THAT(predicted.output, ContainsRegex("5 +t5 +[0-9.e-]+ +[a-z0-9]+ +fraud@1 +primary"));
  EXPECT_THAT(predicted.output, HasSubstr("5 rows in 3 call(s)"));
  CliResult wrong_column = Cli({"predict", "fraud_api", "--csv", WriteFile("bad.csv", "colour\nred\n")});
  EXPECT_EQ(wrong_column.exit_code, 5) << wrong_column.output;
  EXPECT_THAT(wrong_column.output, HasSubstr("colour"));

  // batch score: the dataset's head with the production version (fraud@1),
  // waited for; the output version holds a score per input row.
  CliResult scored = Cli({"batch", "score", "--model", "fraud", "--dataset", "transactions", "--output_dataset",
                          "tx_scores", "--wait", "--timeout", "100s"});
  ASSERT_EQ(scored.exit_code, 0) << scored.output;
  EXPECT_THAT(scored.output, ContainsRegex("submitted bsj-[0-9a-f]+: fraud@1 on transactions@[0-9a-f]{64} "
                                           "\\(1000 rows\\) -> tx_scores"));
  EXPECT_THAT(scored.output, ContainsRegex("succeeded: 1000 rows scored .* output tx_scores@[0-9a-f]{64}"));
  const std::string job_id = scored.output.substr(scored.output.find("bsj-"), 20);
  CliResult output_shown = Cli({"datasets", "show", "tx_scores"});
  ASSERT_EQ(output_shown.exit_code, 0) << output_shown.output;
  EXPECT_THAT(output_shown.output, HasSubstr("dataset tx_scores: 1000 rows in version 1"));
  EXPECT_THAT(output_shown.output, ContainsRegex("prediction +double"));
  EXPECT_THAT(output_shown.output, ContainsRegex("customer_id +string"));
  CliResult status = Cli({"--json", "batch", "status", job_id});
  ASSERT_EQ(status.exit_code, 0) << status.output;
  EXPECT_THAT(status.output, HasSubstr("\"state\":\"BATCH_JOB_STATE_SUCCEEDED\""));
  EXPECT_THAT(status.output, HasSubstr("\"rows_scored\":\"1000\""));
  EXPECT_THAT(Cli({"batch", "status", job_id}).output, ContainsRegex("rows +1000/1000 rows scored \\(100%\\)"));
  // POINT_IN_TIME: every input of this model is a column, used as given.
  CliResult pit = Cli({"batch", "score", "--model=fraud", "--version=1", "--dataset=transactions", "--point_in_time",
                       "--output_dataset=tx_scores_pit", "--wait"});
  ASSERT_EQ(pit.exit_code, 0) << pit.output;
  EXPECT_THAT(pit.output, HasSubstr("succeeded: 1000 rows scored"));
  EXPECT_THAT(Cli({"batch", "status", pit.output.substr(pit.output.find("bsj-"), 20)}).output,
              ContainsRegex("features +point_in_time"));
  // Refusals: a bad flag names it (usage, 2); an unknown model version (4);
  // an unknown job (4).
  CliResult bad_version = Cli({"batch", "score", "--model", "fraud", "--version", "two", "--dataset", "transactions"});
  EXPECT_EQ(bad_version.exit_code, 2) << bad_version.output;
  EXPECT_THAT(bad_version.output, HasSubstr("--version"));
  CliResult no_dataset = Cli({"batch", "score", "--model", "fraud"});
  EXPECT_EQ(no_dataset.exit_code, 2) << no_dataset.output;
  EXPECT_THAT(no_dataset.output, HasSubstr("--dataset"));
  CliResult unknown_flag = Cli({"batch", "score", "--model", "fraud", "--datset", "transactions"});
  EXPECT_EQ(unknown_flag.exit_code, 2) << unknown_flag.output;
  EXPECT_THAT(unknown_flag.output, HasSubstr("unknown option --datset"));
  CliResult missing_model = Cli({"batch", "score", "--model", "fraud", "--version", "9", "--dataset", "transactions"});
  EXPECT_EQ(missing_model.exit_code, 4) << missing_model.output;
  EXPECT_EQ(Cli({"batch", "status", "bsj-0000000000000000"}).exit_code, 4);

  // Version 2 in staging: a shadow by hand, refusals, show, rollback.
  CliResult second = Cli({"training", "submit", WriteFile("job2.json", JobSpec("staging")), "--watch"});
  ASSERT_EQ(second.exit_code, 0) << second.output;
  CliResult canary = Cli({"rollout", "set", "fraud_api", "--candidate", "2", "--strategy", "canary", "--steps",
                          "10,100", "--window", "5s"});
  EXPECT_EQ(canary.exit_code, 5) << canary.output;  // canary needs the production version
  EXPECT_THAT(canary.output, HasSubstr("PRODUCTION"));
  EXPECT_THAT(canary.output, ::testing::Not(HasSubstr("--replace")));
  CliResult shadow = Cli({"rollout", "set", "fraud_api", "--candidate", "2", "--strategy", "shadow", "--window",
                          "30s", "--mirror", "100", "--reason", "try v2 in the shadow"});
  ASSERT_EQ(shadow.exit_code, 0) << shadow.output;
  EXPECT_THAT(shadow.output, HasSubstr("rollout on fraud_api: shadow v1 -> v2"));
  CliResult busy = Cli({"rollout", "set", "fraud_api", "--candidate", "2", "--strategy", "shadow", "--window", "30s"});
  EXPECT_EQ(busy.exit_code, 5) << busy.output;
  EXPECT_THAT(busy.output, HasSubstr("--replace"));
  CliResult shown = Cli({"rollout", "show", "fraud_api"});
  ASSERT_EQ(shown.exit_code, 0) << shown.output;
  EXPECT_THAT(shown.output, HasSubstr("shadow v1 -> v2"));
  EXPECT_THAT(shown.output, HasSubstr("in_progress"));
  EXPECT_THAT(shown.output, ::testing::Not(HasSubstr("rolled back")));
  CliResult rolled_back = Cli({"rollout", "rollback", "fraud_api", "--reason=enough"});
  ASSERT_EQ(rolled_back.exit_code, 0) << rolled_back.output;
  EXPECT_THAT(Cli({"rollout", "show", "fraud_api"}).output, HasSubstr("rolled back: enough"));
  EXPECT_EQ(Cli({"rollout", "set", "nowhere", "--candidate", "2", "--strategy", "shadow", "--window", "5s"}).exit_code,
            4);

  // Alert policies from a file; alerts.
  CliResult set = Cli({"monitoring", "policy", "set", WriteFile("policy.json", kPolicy)});
  ASSERT_EQ(set.exit_code, 0) << set.output;
  EXPECT_THAT(set.output, HasSubstr("alert policy fraud/slow set: p99_latency >= 50000 -> warning"));
  CliResult policies = Cli({"monitoring", "policy", "list", "fraud"});
  ASSERT_EQ(policies.exit_code, 0) << policies.output;
  EXPECT_THAT(policies.output, ContainsRegex("fraud +slow +all +p99_latency >= 50000 +1m"));
  CliResult bad_policy = Cli({"monitoring", "policy", "set",
                              WriteFile("bad_policy.json", R"({"model": "fraud", "name": "x"})")});
  EXPECT_EQ(bad_policy.exit_code, 5) << bad_policy.output;  // metric UNSPECIFIED
  CliResult alerts = Cli({"alerts", "list", "--model", "fraud", "--state", "firing"});
  ASSERT_EQ(alerts.exit_code, 0) << alerts.output;
  EXPECT_THAT(alerts.output, HasSubstr("ALERT"));
  EXPECT_EQ(Cli({"alerts", "show", "alert-999999"}).exit_code, 4);
}

}  // namespace
}  // namespace mlops::testing_platform

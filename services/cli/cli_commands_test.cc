// The new command groups' pure parts (files, option parsing, table
// rendering) and their exit codes without a server.
#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/cli/alert_format.h"
#include "services/cli/args.h"
#include "services/cli/cli_context.h"
#include "services/cli/csv_table.h"
#include "services/cli/feature_files.h"
#include "services/cli/predict_csv.h"
#include "services/cli/rollout_spec.h"
#include "services/cli/training_format.h"

namespace mlops::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace cv1 = ::mlops::common::v1;
namespace tv1 = ::mlops::training::v1;
namespace mv1 = ::mlops::monitoring::v1;
namespace rv1 = ::mlops::registry::v1;

TEST(ArgsValueTest, TakesTheNextWordAsValueForValueOptions) {
  MLOPS_ASSERT_OK_AND_ASSIGN(
      auto args, ParseCommandArgs({"api", "--steps", "5,25,100", "--window=30s", "--replace", "x"},
                                  {"steps", "window", "replace"}, {"steps", "window"}));
  EXPECT_THAT(args.positional, ElementsAre("api", "x"));
  EXPECT_EQ(args.options.at("steps"), "5,25,100");
  EXPECT_EQ(args.options.at("window"), "30s");
  EXPECT_EQ(args.options.at("replace"), "");
  EXPECT_THAT(ParseCommandArgs({"--steps"}, {"steps"}, {"steps"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--steps needs a value")));
  EXPECT_THAT(ParseCommandArgs({"--steps", "--window=1s"}, {"steps", "window"}, {"steps"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--steps needs a value")));
}

TEST(ArgsValueTest, PositiveIntOptionNamesTheOption) {
  MLOPS_ASSERT_OK_AND_ASSIGN(auto args, ParseCommandArgs({"--batch=0"}, {"batch"}));
  EXPECT_THAT(PositiveIntOption(args, "batch", 5),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--batch")));
  EXPECT_THAT(PositiveIntOption(CommandArgs{}, "batch", 5), IsOkAndHolds(5));
}

TEST(ArgsValueTest, EnumOptionTakesTheLowerCaseSuffix) {
  MLOPS_ASSERT_OK_AND_ASSIGN(auto args, ParseCommandArgs({"--state=Firing", "--bad=angry"}, {"state", "bad"}));
  EXPECT_THAT(EnumOption(args, "state", "ALERT_STATE_", mv1::AlertState_descriptor()),
              IsOkAndHolds(mv1::ALERT_STATE_FIRING));
  EXPECT_THAT(EnumOption(args, "bad", "ALERT_STATE_", mv1::AlertState_descriptor()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--bad must be one of pending, firing, resolved, not \"angry\"")));
}

TEST(CsvTableTest, InfersColumnTypesAndNulls) {
  MLOPS_ASSERT_OK_AND_ASSIGN(
      TypedCsv csv, ParseTypedCsv("id,amount,ok,ts,name\n"
                                  "1,2.5,true,2026-01-01T00:00:00Z,\"a, b\"\n"
                                  "2,,false,2026-01-02T00:00:00Z,x\n"
                                  "3,7,,2026-01-03T00:00:00Z,42\n",
                                  "t.csv"));
  ASSERT_EQ(csv.schema.columns_size(), 5);
  EXPECT_EQ(csv.schema.columns(0).type(), cv1::DATA_TYPE_INT64);
  EXPECT_EQ(csv.schema.columns(1).type(), cv1::DATA_TYPE_DOUBLE);
  EXPECT_EQ(csv.schema.columns(2).type(), cv1::DATA_TYPE_BOOL);
  EXPECT_EQ(csv.schema.columns(3).type(), cv1::DATA_TYPE_TIMESTAMP);
  EXPECT_EQ(csv.schema.columns(4).type(), cv1::DATA_TYPE_STRING);
  ASSERT_EQ(csv.rows.size(), 3u);
  EXPECT_EQ(csv.rows[0].values(4).string_value(), "a, b");
  EXPECT_EQ(csv.rows[1].values(1).kind_case(), cv1::Value::KIND_NOT_SET);
  EXPECT_EQ(csv.rows[2].values(1).double_value(), 7.0);
  EXPECT_EQ(csv.rows[1].values(3).timestamp_micros(), 1767312000000000);
}

TEST(CsvTableTest, ForcedTypesAndErrorsNameRowAndColumn) {
  MLOPS_ASSERT_OK_AND_ASSIGN(TypedCsv csv,
                             ParseTypedCsv("key,n\n0042,1\n", "k.csv", {{"key", cv1::DATA_TYPE_STRING}}));
  EXPECT_EQ(csv.rows[0].values(0).string_value(), "0042");
  EXPECT_THAT(ParseTypedCsv("key,n\nabc,1\n", "k.csv", {{"key", cv1::DATA_TYPE_INT64}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("k.csv row 1, column \"key\"")));
  EXPECT_THAT(ParseTypedCsv("a,b\n1\n", "short.csv"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("short.csv")));
  EXPECT_THAT(ParseTypedCsv("", "empty.csv"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("header")));
}

TEST(CsvTableTest, WritesWhatItReads) {
  const std::string text =
      "id,score,label,ts,note\n1,0.10000000000000001,true,2026-01-01T00:00:00.5Z,\"q\"\"x,y\"\n2,,false,,\"\"\n";
  MLOPS_ASSERT_OK_AND_ASSIGN(TypedCsv csv, ParseTypedCsv(text, "r.csv"));
  std::ostringstream out;
  WriteCsv(csv.schema, csv.rows, out);
  EXPECT_EQ(out.str(),
            "id,score,label,ts,note\n1,0.10000000000000001,true,2026-01-01T00:00:00.500000Z,\"q\"\"x,y\"\n"
            "2,,false,,\"\"\n");
}

TEST(FeatureFilesTest, AcceptsASpecOrARequestAndNamesTheFileOnErrors) {
  const std::string spec = R"({"name": "spend", "sourceDataset": "tx", "entityKeyColumn": "customer_id",
      "features": [{"name": "sum_1h", "aggregation": {"function": "AGGREGATION_FUNCTION_SUM",
                    "column": "amount", "windowMicros": "3600000000"}}]})";
  MLOPS_ASSERT_OK_AND_ASSIGN(auto from_spec, ParseFeatureViewFile(spec, "v.json"));
  EXPECT_EQ(from_spec.spec().name(), "spend");
  EXPECT_EQ(from_spec.spec().features(0).aggregation().window_micros(), 3600000000);
  MLOPS_ASSERT_OK_AND_ASSIGN(auto from_request, ParseFeatureViewFile("{\"spec\": " + spec + "}", "v.json"));
  EXPECT_EQ(from_request.spec().entity_key_column(), "customer_id");
  EXPECT_THAT(ParseFeatureViewFile(R"({"name": "x", "colour": 1})", "bad.json"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad.json")));
  EXPECT_EQ(ExportRef("spend"), "spend:*");
  EXPECT_EQ(ExportRef("spend@2"), "spend@2:*");
  EXPECT_EQ(ExportRef("spend:sum_1h"), "spend:sum_1h");
}

TEST(TrainingFormatTest, ParsesAJobSpecWithASearchSpace) {
  MLOPS_ASSERT_OK_AND_ASSIGN(auto request, ParseJobSpecFile(R"({"experiment": "fraud",
      "data": {"dataset": "tx", "labelColumn": "is_fraud", "featureRefs": ["spend:*"]},
      "trainer": {"kind": "TRAINER_KIND_XGBOOST_GBTREE", "objective": "OBJECTIVE_BINARY_LOGISTIC"},
      "hyperparameters": {"num_boost_round": "20"},
      "search": {"algorithm": "SEARCH_ALGORITHM_GRID",
                 "parameters": [{"name": "max_depth", "intRange": {"min": 2, "max": 4, "step": 2}}]}})",
                                                            "job.json"));
  EXPECT_EQ(request.spec().experiment(), "fraud");
  EXPECT_EQ(request.spec().hyperparameters().at("num_boost_round"), "20");
  EXPECT_EQ(request.spec().search().parameters(0).int_range().max(), 4);
  MLOPS_ASSERT_OK_AND_ASSIGN(auto wrapped,
                             ParseJobSpecFile(R"({"spec": {"name": "n"}, "idempotencyKey": "k1"})", "j"));
  EXPECT_EQ(wrapped.idempotency_key(), "k1");
  EXPECT_THAT(ParseJobSpecFile(R"({"trainer": {"kind": "NOPE"}})", "job.json"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("job.json")));
}

TEST(TrainingFormatTest, OneLinePerJobEvent) {
  const int64_t noon = 1767268800000000;  // 2026-01-01 12:00:00 UTC
  tv1::JobEvent snapshot;
  snapshot.set_time_micros(noon);
  tv1::TrainingJob* job = snapshot.mutable_snapshot();
  job->set_id("job-1");
  job->set_state(tv1::JOB_STATE_SUCCEEDED);
  job->add_trials();
  job->add_trials();
  job->mutable_trial_counts()->set_succeeded(2);
  job->set_best_objective_value(0.91);
  job->set_best_run_id("run-b");
  job->mutable_registration()->set_model_name("fraud");
  job->mutable_registration()->set_version(3);
  EXPECT_EQ(FormatJobEvent(snapshot),
            "12:00:00 job job-1 succeeded: 2/2 trials succeeded, best 0.91 (run-b), registered fraud@3");

  tv1::JobEvent trial;
  trial.set_time_micros(noon + 1000000);
  trial.mutable_trial()->set_index(1);
  trial.mutable_trial()->set_run_id("run-a");
  trial.mutable_trial()->set_status(tv1::RUN_STATUS_FAILED);
  (*trial.mutable_trial()->mutable_params())["max_depth"] = "4";
  (*trial.mutable_trial()->mutable_params())["eta"] = "0.1";
  trial.mutable_trial()->set_failure_reason("bad eta");
  EXPECT_EQ(FormatJobEvent(trial), "12:00:01 trial 1 run-a failed (eta=0.1 max_depth=4): bad eta");

  tv1::JobEvent metrics;
  metrics.set_time_micros(noon);
  metrics.mutable_metrics()->set_run_id("run-a");
  for (int step : {1, 2}) {
    tv1::MetricPoint* p = metrics.mutable_metrics()->add_points();
    p->set_key("validation_auc");
    p->set_value(0.5 + step / 10.0);
    p->set_step(step);
  }
  EXPECT_EQ(FormatJobEvent(metrics), "12:00:00 trial run-a step 2: validation_auc=0.7");

  tv1::JobEvent log;
  log.set_time_micros(noon);
  log.mutable_log()->set_stream("stderr");
  log.mutable_log()->set_run_id("run-a");
  log.mutable_log()->set_text("hello");
  EXPECT_EQ(FormatJobEvent(log), "12:00:00 [stderr run-a] hello");
  EXPECT_TRUE(IsTerminal(tv1::JOB_STATE_CANCELLED));
  EXPECT_FALSE(IsTerminal(tv1::JOB_STATE_RUNNING));
}

TEST(TrainingFormatTest, CompareMarksDifferingParams) {
  std::vector<tv1::Run> runs(2);
  runs[0].set_id("run-a");
  runs[0].set_status(tv1::RUN_STATUS_SUCCEEDED);
  (*runs[0].mutable_params())["eta"] = "0.1";
  (*runs[0].mutable_params())["max_depth"] = "3";
  runs[0].add_metrics()->set_key("test_auc");
  runs[0].mutable_metrics(0)->set_value(0.8);
  runs[1].set_id("run-b");
  runs[1].set_status(tv1::RUN_STATUS_FAILED);
  (*runs[1].mutable_params())["eta"] = "0.1";
  (*runs[1].mutable_params())["max_depth"] = "5";
  std::ostringstream out;
  CompareRunsTable(runs).Print(out);
  EXPECT_EQ(out.str(),
            "                   run-a      run-b\n"
            "status             succeeded  failed\n"
            "param eta          0.1        0.1\n"
            "* param max_depth  3          5\n"
            "metric test_auc    0.8        -\n");
}

absl::StatusOr<rv1::RolloutSpec> Spec(const std::vector<std::string>& words) {
  std::vector<std::string> valued;
  for (const std::string& o : RolloutSpecOptions()) {
    if (o != "promote" && o != "no_auto_rollback") valued.push_back(o);
  }
  auto args = ParseCommandArgs(words, RolloutSpecOptions(), valued);
  if (!args.ok()) return args.status();
  return RolloutSpecFromArgs(*args);
}

TEST(RolloutSpecTest, CanaryStepsShareTheWindowAndThresholds) {
  MLOPS_ASSERT_OK_AND_ASSIGN(rv1::RolloutSpec spec,
                             Spec({"--strategy", "canary", "--steps", "5,25,50,100", "--window", "30s",
                                   "--max_error_rate", "0.05", "--max_p99", "200ms", "--min_requests=20"}));
  EXPECT_EQ(spec.strategy(), rv1::ROLLOUT_STRATEGY_CANARY);
  ASSERT_EQ(spec.canary().steps_size(), 4);
  EXPECT_EQ(spec.canary().steps(1).percent(), 25);
  EXPECT_EQ(spec.canary().steps(3).analysis_window_micros(), 30000000);
  EXPECT_EQ(spec.canary().steps(0).min_requests(), 20);
  EXPECT_EQ(spec.thresholds().max_error_rate(), 0.05);
  EXPECT_EQ(spec.thresholds().max_p99_latency_micros(), 200000);
  EXPECT_FALSE(spec.disable_auto_rollback());
}

TEST(RolloutSpecTest, OtherStrategiesAndErrors) {
  MLOPS_ASSERT_OK_AND_ASSIGN(rv1::RolloutSpec shadow,
                             Spec({"--strategy=shadow", "--window=1m", "--mirror=50", "--promote"}));
  EXPECT_EQ(shadow.shadow().mirror_percent(), 50);
  EXPECT_TRUE(shadow.shadow().promote_on_success());
  MLOPS_ASSERT_OK_AND_ASSIGN(rv1::RolloutSpec ab, Spec({"--strategy=ab", "--window=1m", "--percent=50"}));
  EXPECT_EQ(ab.ab().candidate_percent(), 50);
  MLOPS_ASSERT_OK_AND_ASSIGN(rv1::RolloutSpec bg, Spec({"--strategy=blue_green", "--no_auto_rollback"}));
  EXPECT_TRUE(bg.has_blue_green());
  EXPECT_TRUE(bg.disable_auto_rollback());
  EXPECT_THAT(Spec({"--strategy=canary", "--window=30s"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--steps is required")));
  EXPECT_THAT(Spec({"--strategy=canary", "--steps=5,x"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--window is required")));
  EXPECT_THAT(Spec({"--strategy=canary", "--steps=5,x", "--window=1s"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"x\" is not a percent")));
  EXPECT_THAT(Spec({"--strategy=rainbow"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not \"rainbow\"")));
  EXPECT_THAT(Spec({"--strategy=ab", "--window=soon", "--percent=5"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--window")));
}

TEST(AlertFormatTest, ConditionsAndTables) {
  mv1::AlertPolicy drift;
  drift.set_metric(mv1::ALERT_METRIC_FEATURE_DRIFT);
  drift.set_feature("amount");
  EXPECT_EQ(PolicyCondition(drift), "feature_drift(amount) drifted");
  mv1::ListAlertPoliciesResponse policies;
  mv1::AlertPolicy* auc = policies.add_policies();
  auc->set_model("fraud");
  auc->set_name("low_auc");
  auc->set_metric(mv1::ALERT_METRIC_AUC);
  auc->set_comparison(mv1::COMPARISON_LESS_OR_EQUAL);
  auc->set_threshold(0.7);
  auc->set_window_micros(60000000);
  auc->set_severity(mv1::SEVERITY_CRITICAL);
  auc->add_actions()->mutable_retrain()->set_trigger_id("fraud_retrain");
  std::ostringstream out;
  PrintAlertPolicies(policies, out);
  EXPECT_THAT(out.str(), HasSubstr("auc <= 0.7"));
  EXPECT_THAT(out.str(), HasSubstr("retrain fraud_retrain"));
  EXPECT_THAT(out.str(), HasSubstr("1m"));
  EXPECT_THAT(out.str(), HasSubstr("critical"));

  mv1::ListAlertsResponse alerts;
  mv1::Alert* a = alerts.add_alerts();
  a->set_id("alert-7");
  a->set_model("fraud");
  a->set_version(2);
  a->set_state(mv1::ALERT_STATE_FIRING);
  a->set_summary("feature amount drifted");
  mv1::ActionResult* r = a->add_actions();
  r->set_kind(mv1::ACTION_KIND_RETRAIN);
  r->set_status(mv1::ACTION_STATUS_SUCCEEDED);
  r->set_result("job-9");
  std::ostringstream list, show;
  PrintAlerts(alerts, list);
  EXPECT_THAT(list.str(), ::testing::ContainsRegex("alert-7 +fraud@2"));
  EXPECT_THAT(list.str(), HasSubstr("firing"));
  PrintAlert(*a, show);
  EXPECT_THAT(show.str(), HasSubstr("alert-7: feature amount drifted"));
  EXPECT_THAT(show.str(), ::testing::ContainsRegex("retrain +- +succeeded +0 +job-9"));
}

TEST(PredictCsvTest, BatchesRowsWithEntityKeysRequestIdsAndFeatures) {
  MLOPS_ASSERT_OK_AND_ASSIGN(TypedCsv csv, ParseTypedCsv("request_id,customer_id,amount\n"
                                                         "t1,c1,10\nt2,c2,\nt3,c3,7.5\n",
                                                         "p.csv", {{"request_id", cv1::DATA_TYPE_STRING}}));
  CsvPredictOptions options;
  options.endpoint = "fraud_api";
  options.entity_column = "customer_id";
  options.batch_rows = 2;
  MLOPS_ASSERT_OK_AND_ASSIGN(auto requests, BuildCsvPredictRequests(csv, options));
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].endpoint(), "fraud_api");
  EXPECT_THAT(requests[0].feature_names(), ElementsAre("amount"));
  ASSERT_EQ(requests[0].rows_size(), 2);
  EXPECT_EQ(requests[1].rows_size(), 1);
  EXPECT_EQ(requests[0].rows(1).entity_key().string_value(), "c2");
  EXPECT_EQ(requests[0].rows(1).request_id(), "t2");
  EXPECT_EQ(requests[0].rows(1).features().values(0).kind_case(), cv1::Value::KIND_NOT_SET);
  EXPECT_EQ(requests[1].rows(0).features().values(0).double_value(), 7.5);
  options.batch_rows = 5000;
  EXPECT_THAT(BuildCsvPredictRequests(csv, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--batch")));
}

TEST(ExitCodeTest, StatusesMapToDocumentedCodes) {
  EXPECT_EQ(ReportError(absl::UnavailableError("x"), "t"), kExitUnavailable);
  EXPECT_EQ(ReportError(absl::NotFoundError("x"), "t"), kExitNotFound);
  EXPECT_EQ(ReportError(absl::InvalidArgumentError("x"), "t"), kExitInvalid);
  EXPECT_EQ(ReportError(absl::PermissionDeniedError("x"), "t"), kExitAuth);
  EXPECT_EQ(ReportError(absl::InternalError("x"), "t"), kExitFailed);
}

// Runs a command by name in-process against an address nothing listens on.
int RunCommand(const std::vector<std::string>& name_and_args) {
  std::vector<Command> commands;
  AddFeatureCommands(commands);
  AddTrainingCommands(commands);
  AddRolloutCommands(commands);
  AddAlertCommands(commands);
  AddServingCommands(commands);
  CliConfig config;
  for (const char* service : {"features", "training", "gateway", "monitoring"}) {
    config.addresses[service] = "127.0.0.1:1";
  }
  config.timeout_ms = 2000;
  CliContext ctx(config);
  for (const Command& c : commands) {
    const std::size_t words = static_cast<std::size_t>(std::count(c.name.begin(), c.name.end(), ' ') + 1);
    std::string joined;
    for (std::size_t i = 0; i < words && i < name_and_args.size(); ++i) joined += (i ? " " : "") + name_and_args[i];
    if (joined == c.name) {
      return c.run(ctx, std::vector<std::string>(name_and_args.begin() + words, name_and_args.end()));
    }
  }
  return -1;
}

TEST(CommandExitCodeTest, UsageErrorsAndUnreachableServices) {
  const std::string dir = ::testing::TempDir();
  const std::string spec = dir + "/job.json";
  std::ofstream(spec) << R"({"experiment": "e", "data": {"dataset": "tx"}})";
  const std::string bad = dir + "/bad.json";
  std::ofstream(bad) << "{";
  EXPECT_EQ(RunCommand({"training", "submit"}), kExitUsage);
  EXPECT_EQ(RunCommand({"training", "submit", dir + "/missing.json"}), kExitUsage);
  EXPECT_EQ(RunCommand({"training", "submit", bad}), kExitUsage);
  EXPECT_EQ(RunCommand({"training", "submit", spec}), kExitUnavailable);
  EXPECT_EQ(RunCommand({"training", "watch", "job-1", "--timeout", "1s"}), kExitUnavailable);
  EXPECT_EQ(RunCommand({"training", "compare", "run-a"}), kExitUsage);
  EXPECT_EQ(RunCommand({"training", "runs", "--limit", "x"}), kExitUsage);
  EXPECT_EQ(RunCommand({"features", "register", bad}), kExitUsage);
  EXPECT_EQ(RunCommand({"features", "export", "spend", "--entities", "e.csv"}), kExitUsage);
  EXPECT_EQ(RunCommand({"rollout", "set", "api", "--strategy", "canary"}), kExitUsage);
  EXPECT_EQ(RunCommand({"rollout", "set", "api", "--candidate", "2", "--strategy", "canary", "--window", "1s"}),
            kExitUsage);
  EXPECT_EQ(RunCommand({"rollout", "set", "api", "--candidate", "2", "--strategy", "canary", "--steps",
                        "50,100", "--window", "1s"}),
            kExitUnavailable);
  EXPECT_EQ(RunCommand({"alerts", "list", "--state", "angry"}), kExitUsage);
  EXPECT_EQ(RunCommand({"alerts", "show"}), kExitUsage);
  EXPECT_EQ(RunCommand({"alerts", "list"}), kExitUnavailable);
  EXPECT_EQ(RunCommand({"monitoring", "policy", "set", bad}), kExitUsage);
  EXPECT_EQ(RunCommand({"predict", "--endpoint", "api"}), kExitUsage);
  EXPECT_EQ(RunCommand({"predict", "api", "--csv", dir + "/missing.csv"}), kExitUsage);
}

}  // namespace
}  // namespace mlops::cli

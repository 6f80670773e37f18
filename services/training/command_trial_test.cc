// The command trainer's files (CSV, params JSON, predictions) and whole
// trials through the LocalExecutor with real /bin/sh programs: the program
// reads its files and environment and writes a model (an XGBoost model is
// evaluated by us; an opaque one with predictions gets test metrics); exit
// 3, a timeout, and no model fail with the reason.
#include "services/training/command_trial.h"

#include <cmath>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/training/command_data.h"
#include "services/training/local_executor.h"
#include "services/training/xgb_trainer.h"

namespace mlops::training {
namespace {

using ::testing::HasSubstr;

DenseBlock Block(std::size_t rows, unsigned seed) {
  DenseBlock b;
  b.rows = rows;
  b.cols = 2;
  uint64_t state = seed;
  for (std::size_t r = 0; r < rows; ++r) {
    const float x0 = static_cast<float>(SplitMix64(&state) % 1000) / 100.0f;
    const float x1 = static_cast<float>(SplitMix64(&state) % 1000) / 100.0f;
    b.values.push_back(x0);
    b.values.push_back(x1);
    b.labels.push_back(x0 > 5.0f ? 1.0f : 0.0f);
  }
  return b;
}

TEST(CommandDataTest, CsvHasLabelThenFeaturesAndEmptyFieldsForMissing) {
  DenseBlock b;
  b.rows = 2;
  b.cols = 2;
  b.values = {0.5f, std::numeric_limits<float>::quiet_NaN(), 3.0f, 1e-7f};
  b.labels = {1, 0};
  EXPECT_EQ(TrainingCsv("label", {"x0", "x1"}, b), "label,x0,x1\n1,0.5,\n0,3,1.00000001e-07\n");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
}

TEST(CommandDataTest, ParamsJsonEscapesAndSortsKeys) {
  EXPECT_EQ(ParamsJson({{"eta", "0.1"}, {"a\"b", "x\ny"}}), "{\"a\\\"b\":\"x\\ny\",\"eta\":\"0.1\"}");
  EXPECT_EQ(ParamsJson({}), "{}");
}

TEST(CommandDataTest, ParsesPredictionsAndNamesTheBadLine) {
  MLOPS_ASSERT_OK_AND_ASSIGN(std::vector<float> p, ParsePredictions("0.1\n0.9\n", 2, 1));
  EXPECT_THAT(p, ::testing::ElementsAre(0.1f, 0.9f));
  MLOPS_ASSERT_OK_AND_ASSIGN(p, ParsePredictions("0.2,0.8\r\n0.5,0.5", 2, 2));
  EXPECT_EQ(p.size(), 4u);
  EXPECT_THAT(ParsePredictions("0.1\n", 2, 1).status(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 lines for 2")));
  EXPECT_THAT(ParsePredictions("0.1\nnan\n", 2, 1).status(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
  EXPECT_THAT(ParsePredictions("0.1,0.2\n", 1, 1).status(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected 1")));
}

class CommandTrialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::path(::testing::TempDir() + "/command_trial_test").lexically_normal().string();
    std::filesystem::remove_all(root_);
    settings_.executor = &executor_;
    settings_.work_root = root_;
    settings_.training_addr = "127.0.0.1:50053";
    settings_.token = "tok";
    spec_.mutable_trainer()->set_kind(v1::TRAINER_KIND_COMMAND);
    spec_.mutable_trainer()->set_objective(v1::OBJECTIVE_BINARY_LOGISTIC);
    spec_.set_seed(42);
    train_ = Block(200, 1);
    validation_ = Block(50, 2);
    test_ = Block(60, 3);
    in_.run_id = "run-00000000000000aa";
    in_.job_id = "job-00000000000000bb";
    in_.spec = &spec_;
    in_.params = {{"eta", "0.3"}};
    in_.label_column = "label";
    in_.features = {"x0", "x1"};
    in_.train = &train_;
    in_.validation = &validation_;
    in_.test = &test_;
  }

  CommandTrialResult RunScript(const std::string& script, int64_t timeout_micros = 20'000'000) {
    v1::CommandTrainer* c = spec_.mutable_trainer()->mutable_command();
    c->clear_argv();
    c->add_argv("sh");
    c->add_argv("-c");
    c->add_argv(script);
    c->set_timeout_micros(timeout_micros);
    absl::StatusOr<CommandTrialResult> r = CommandTrial::Run(settings_, in_, nullptr, nullptr);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : CommandTrialResult{};
  }

  std::string root_;
  LocalExecutor executor_{LocalExecutorOptions{std::chrono::milliseconds(1000), 1 << 20}};
  CommandSettings settings_;
  v1::TrainingJobSpec spec_;
  DenseBlock train_, validation_, test_;
  CommandTrialInput in_;
};

TEST_F(CommandTrialTest, ProgramGetsItsFilesAndEnvironmentAndItsModelIsKept) {
  (*spec_.mutable_trainer()->mutable_command()->mutable_env())["EXTRA"] = "x";
  const CommandTrialResult r = RunScript(
      "set -e; head -1 \"$MLOPS_TRAIN_FILE\"; wc -l < \"$MLOPS_TRAIN_FILE\"; wc -l < \"$MLOPS_TEST_FILE\"; "
      "echo \"$MLOPS_RUN_ID $MLOPS_JOB_ID $MLOPS_TRAINING_ADDR $MLOPS_TOKEN $MLOPS_SEED $MLOPS_OBJECTIVE "
      "$MLOPS_LABEL_COLUMN $EXTRA $MLOPS_PARAMS_JSON\"; echo warn >&2; "
      "test \"$(pwd)\" = \"$(dirname \"$MLOPS_MODEL_OUT\")\"; printf 'opaque-model' > \"$MLOPS_MODEL_OUT\"");
  EXPECT_EQ(r.failure, "");
  EXPECT_EQ(r.stdout_text,
            "label,x0,x1\n201\n61\nrun-00000000000000aa job-00000000000000bb 127.0.0.1:50053 tok 42 "
            "binary:logistic label x {\"eta\":\"0.3\"}\n");
  EXPECT_EQ(r.stderr_text, "warn\n");
  EXPECT_EQ(r.model, "opaque-model");
  EXPECT_FALSE(r.xgboost_json);
  EXPECT_TRUE(r.test_metrics.empty());
  EXPECT_FALSE(std::filesystem::exists(root_ + "/" + in_.run_id));  // cleaned up
}

TEST_F(CommandTrialTest, PredictionsFileGivesTestMetrics) {
  // Predicts x0 / 10 for each test row (a perfect ranking of x0 > 5).
  const CommandTrialResult r = RunScript(
      "tail -n +2 \"$MLOPS_TEST_FILE\" | awk -F, '{ print $2 / 10 }' > \"$MLOPS_TEST_PREDICTIONS_OUT\"; "
      "echo m > \"$MLOPS_MODEL_OUT\"");
  ASSERT_EQ(r.failure, "");
  ASSERT_EQ(r.test_metrics.count("test_auc"), 1u);
  EXPECT_DOUBLE_EQ(r.test_metrics.at("test_auc"), 1.0);
  EXPECT_EQ(r.test_metrics.count("test_logloss"), 1u);
}

TEST_F(CommandTrialTest, XgboostModelIsEvaluatedByTheService) {
  TrainerConfig config;
  config.num_boost_round = 10;
  config.params = {{"max_depth", "2"}};
  MLOPS_ASSERT_OK_AND_ASSIGN(TrainOutcome trained, BuiltinXgbTrainer::Train(config, train_, validation_, test_, nullptr));
  const std::string model_file = ::testing::TempDir() + "/command_trial_model.json";
  {
    std::ofstream f(model_file);
    f << trained.model_json;
  }
  (*spec_.mutable_trainer()->mutable_command()->mutable_env())["SRC"] = model_file;
  const CommandTrialResult r = RunScript("cp \"$SRC\" \"$MLOPS_MODEL_OUT\"");
  ASSERT_EQ(r.failure, "");
  EXPECT_TRUE(r.xgboost_json);
  EXPECT_EQ(r.model, trained.model_json);
  EXPECT_DOUBLE_EQ(r.test_metrics.at("test_auc"), trained.test_metrics.at("test_auc"));
  EXPECT_DOUBLE_EQ(r.validation_metrics.at("validation_auc"), trained.validation_metrics.at("validation_auc"));
}

TEST_F(CommandTrialTest, NonZeroExitFailsWithTheExitCodeAndKeepsOutput) {
  const CommandTrialResult r = RunScript("echo bad input >&2; echo m > \"$MLOPS_MODEL_OUT\"; exit 3");
  EXPECT_EQ(r.failure, "exit code 3");
  EXPECT_EQ(r.stderr_text, "bad input\n");
  EXPECT_TRUE(r.model.empty());
}

TEST_F(CommandTrialTest, HangingProgramTimesOutAndIsGone) {
  const std::string pid_file = ::testing::TempDir() + "/command_trial_sleep.pid";
  const auto start = std::chrono::steady_clock::now();
  const CommandTrialResult r = RunScript("echo $$ > " + pid_file + "; exec sleep 60", 1'000'000);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(r.failure, "timeout: timed out after 1s");
  std::ifstream f(pid_file);
  pid_t pid = 0;
  ASSERT_TRUE(f >> pid);
  EXPECT_NE(kill(pid, 0), 0);  // our child: reaped and gone
}

TEST_F(CommandTrialTest, NoModelFails) {
  const CommandTrialResult r = RunScript("echo trained nothing");
  EXPECT_THAT(r.failure, HasSubstr("no model written to " + root_ + "/" + in_.run_id + "/model.out"));
  const CommandTrialResult empty = RunScript(": > \"$MLOPS_MODEL_OUT\"");
  EXPECT_THAT(empty.failure, HasSubstr("no model written"));
}

TEST_F(CommandTrialTest, MissingProgramFailsTheTrialNamingIt) {
  spec_.mutable_trainer()->mutable_command()->clear_argv();
  spec_.mutable_trainer()->mutable_command()->add_argv("no-such-trainer");
  MLOPS_ASSERT_OK_AND_ASSIGN(CommandTrialResult r, CommandTrial::Run(settings_, in_, nullptr, nullptr));
  EXPECT_THAT(r.failure, HasSubstr("local executor: argv[0] \"no-such-trainer\": not found"));
}

TEST(CommandTrialSettingsTest, NoExecutorIsFailedPrecondition) {
  CommandSettings settings;
  v1::TrainingJobSpec spec;
  CommandTrialInput in;
  in.spec = &spec;
  EXPECT_THAT(CommandTrial::Run(settings, in, nullptr, nullptr).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not enabled")));
}

}  // namespace
}  // namespace mlops::training

// Unit tests of the job spec checks and conversions (job_spec.h) and of the
// conversion of fetched rows into a training set (training_data.h).
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/training/job_spec.h"
#include "services/training/training_data.h"

namespace mlops::training {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::TrainingJobSpec Spec() {
  v1::TrainingJobSpec spec;
  spec.mutable_data()->set_dataset("loans");
  spec.mutable_data()->set_label_column("label");
  spec.mutable_trainer()->set_kind(v1::TRAINER_KIND_XGBOOST_GBTREE);
  spec.mutable_trainer()->set_objective(v1::OBJECTIVE_BINARY_LOGISTIC);
  spec.set_seed(3);
  return spec;
}

TEST(FeatureRefTest, ParsesPinnedUnpinnedAndStarRefs) {
  MLOPS_ASSERT_OK_AND_ASSIGN(FeatureRef a, ParseFeatureRef("f", "cust@3:avg_amount"));
  EXPECT_EQ(a.view, "cust");
  EXPECT_EQ(a.version, 3);
  EXPECT_EQ(a.feature, "avg_amount");
  MLOPS_ASSERT_OK_AND_ASSIGN(FeatureRef b, ParseFeatureRef("f", "cust:*"));
  EXPECT_EQ(b.version, 0);
  EXPECT_EQ(b.feature, "*");
  for (const char* bad : {"cust", "cust@0:x", "cust@x:y", "Cust:x", "cust:"}) {
    EXPECT_THAT(ParseFeatureRef("data.feature_refs[2]", bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("data.feature_refs[2]")))
        << bad;
  }
}

TEST(JobSpecTest, RejectsSpecProblemsNamingTheField) {
  EXPECT_THAT(ValidateJobSpec(Spec()), IsOk());
  struct Case {
    std::function<void(v1::TrainingJobSpec*)> change;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](auto* s) { s->mutable_data()->clear_dataset(); }, "data.dataset"},
      {[](auto* s) { s->mutable_data()->set_dataset_version_id("abc"); }, "data.dataset_version_id"},
      {[](auto* s) { s->mutable_data()->add_dataset_feature_columns("label"); }, "data.dataset_feature_columns[0]"},
      {[](auto* s) { (*s->mutable_hyperparameters())["objective"] = "x"; }, "reserved"},
      {[](auto* s) { (*s->mutable_hyperparameters())["num_boost_round"] = "0"; }, "num_boost_round"},
      {[](auto* s) { s->mutable_trainer()->set_objective(v1::OBJECTIVE_UNSPECIFIED); }, "trainer.objective"},
      {[](auto* s) { s->mutable_trainer()->set_objective(v1::OBJECTIVE_MULTI_SOFTPROB); }, "trainer.num_class"},
      {[](auto* s) { s->mutable_split()->set_validation_fraction(0.7); }, "split.validation_fraction"},
      {[](auto* s) { s->mutable_split()->set_time_cutoff_micros(5); }, "split.time_cutoff_micros"},
      {[](auto* s) { s->mutable_search()->set_algorithm(v1::SEARCH_ALGORITHM_RANDOM); }, "search.parameters"},
      {[](auto* s) { s->set_max_retries(11); }, "max_retries"},
  };
  for (const Case& c : cases) {
    v1::TrainingJobSpec spec = Spec();
    c.change(&spec);
    EXPECT_THAT(ValidateJobSpec(spec), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.field))) << c.field;
  }
  v1::TrainingJobSpec both = Spec();
  (*both.mutable_hyperparameters())["eta"] = "0.1";
  both.mutable_search()->set_algorithm(v1::SEARCH_ALGORITHM_GRID);
  auto* p = both.mutable_search()->add_parameters();
  p->set_name("eta");
  p->mutable_categorical()->add_values("0.2");
  EXPECT_THAT(ValidateJobSpec(both), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("both fixed")));
  v1::TrainingJobSpec command = Spec();
  command.mutable_trainer()->set_kind(v1::TRAINER_KIND_COMMAND);
  EXPECT_THAT(ValidateJobSpec(command), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("trainer.command")));
}

TEST(JobSpecTest, CommandTrainerNeedsArgvAndCleanEnvAndABoundedTimeout) {
  v1::TrainingJobSpec spec = Spec();
  spec.mutable_trainer()->set_kind(v1::TRAINER_KIND_COMMAND);
  v1::CommandTrainer* c = spec.mutable_trainer()->mutable_command();
  c->add_argv("python3");
  c->add_argv("train.py");
  (*c->mutable_env())["PYTHONHASHSEED"] = "0";
  c->set_timeout_micros(int64_t{3600} * 1000 * 1000);
  EXPECT_THAT(ValidateJobSpec(spec), IsOk());
  struct Case {
    std::function<void(v1::CommandTrainer*)> change;
    const char* message;
  };
  const std::vector<Case> cases = {
      {[](v1::CommandTrainer* t) { t->clear_argv(); }, "trainer.command.argv: 1 to 1000"},
      {[](v1::CommandTrainer* t) { t->set_argv(0, ""); }, "trainer.command.argv[0]: empty"},
      {[](v1::CommandTrainer* t) { (*t->mutable_env())["MLOPS_RUN_ID"] = "x"; }, "MLOPS_ names are set by the service"},
      {[](v1::CommandTrainer* t) { (*t->mutable_env())["lower"] = "x"; }, "trainer.command.env \"lower\""},
      {[](v1::CommandTrainer* t) { (*t->mutable_env())["1X"] = "x"; }, "trainer.command.env \"1X\""},
      {[](v1::CommandTrainer* t) { t->set_timeout_micros(-1); }, "trainer.command.timeout_micros"},
      {[](v1::CommandTrainer* t) { t->set_timeout_micros(kMaxCommandTimeoutMicros + 1); }, "trainer.command.timeout_micros"},
  };
  for (const Case& k : cases) {
    v1::TrainingJobSpec bad = spec;
    k.change(bad.mutable_trainer()->mutable_command());
    EXPECT_THAT(ValidateJobSpec(bad), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(k.message))) << k.message;
  }
  v1::TrainingJobSpec builtin_with_command = Spec();
  *builtin_with_command.mutable_trainer()->mutable_command() = *c;
  EXPECT_THAT(ValidateJobSpec(builtin_with_command),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("only with TRAINER_KIND_COMMAND")));
  v1::TrainingJobSpec no_objective = spec;
  no_objective.mutable_trainer()->clear_objective();
  EXPECT_THAT(ValidateJobSpec(no_objective), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("trainer.objective")));
}

TEST(JobSpecTest, PlansTrialsWithFixedParamsAndTheJobSeed) {
  v1::TrainingJobSpec spec = Spec();
  (*spec.mutable_hyperparameters())["max_depth"] = "4";
  MLOPS_ASSERT_OK_AND_ASSIGN(auto single, PlanTrials(spec));
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(single[0].at("max_depth"), "4");
  spec.mutable_search()->set_algorithm(v1::SEARCH_ALGORITHM_RANDOM);
  spec.mutable_search()->set_max_trials(5);
  auto* r = spec.mutable_search()->add_parameters();
  r->set_name("num_boost_round");
  r->mutable_int_range()->set_min(5);
  r->mutable_int_range()->set_max(50);
  MLOPS_ASSERT_OK_AND_ASSIGN(auto trials, PlanTrials(spec));
  MLOPS_ASSERT_OK_AND_ASSIGN(auto again, PlanTrials(spec));
  EXPECT_EQ(trials, again);
  ASSERT_EQ(trials.size(), 5u);
  EXPECT_EQ(trials[0].at("max_depth"), "4");
  MLOPS_ASSERT_OK_AND_ASSIGN(TrainerConfig config, TrialConfig(spec, trials[0]));
  EXPECT_EQ(config.params.count("num_boost_round"), 0u);
  EXPECT_EQ(config.num_boost_round, std::stoi(trials[0].at("num_boost_round")));
  EXPECT_EQ(config.seed, 3);
  EXPECT_EQ(ObjectiveMetric(spec), "validation_auc");
  EXPECT_EQ(ObjectiveDirection(spec), Direction::kMaximize);
  spec.mutable_search()->set_objective_metric("validation_logloss");
  EXPECT_EQ(ObjectiveDirection(spec), Direction::kMinimize);
  EXPECT_NE(SpecFingerprint(spec), SpecFingerprint(Spec()));
  EXPECT_EQ(SpecFingerprint(Spec()), SpecFingerprint(Spec()));
}

TEST(JobSpecTest, DescribesTheCause) {
  v1::TriggerCause cause;
  EXPECT_EQ(DescribeCause(cause), "manual");
  cause.set_trigger_name("drift");
  cause.set_alert_id("17");
  EXPECT_EQ(DescribeCause(cause), "trigger drift, alert 17");
  EXPECT_THAT(ValidateJobId("job-0123456789abcdef"), IsOk());
  EXPECT_THAT(ValidateJobId("job-0123456789ABCDEF"), StatusIs(absl::StatusCode::kInvalidArgument));
}

FetchedTable Table() {
  FetchedTable t;
  t.columns = {{"ts", kTypeTimestamp, kRoleEventTimestamp}, {"label", kTypeInt64, 4}, {"x", kTypeDouble, kRoleFeature}};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  t.values = {10, 1, 0.5, 20, 0, nan, 30, 2, 1.5};
  t.is_null = {false, false, false, false, false, true, false, false, false};
  t.rows = 3;
  return t;
}

TEST(BuildTrainingSetTest, ConvertsRowsAndChecksLabelsPerRow) {
  MLOPS_ASSERT_OK_AND_ASSIGN(TrainingSet reg, BuildTrainingSet(Table(), "label", {"x"}, "ts",
                                                               Objective::kRegSquaredError, 0));
  EXPECT_THAT(reg.labels, ElementsAre(1, 0, 2));
  EXPECT_THAT(reg.timestamps, ElementsAre(10, 20, 30));
  EXPECT_TRUE(std::isnan(reg.values[1]));
  EXPECT_THAT(BuildTrainingSet(Table(), "label", {"x"}, "ts", Objective::kBinaryLogistic, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("row 2")));
  EXPECT_THAT(BuildTrainingSet(Table(), "label", {"x"}, "ts", Objective::kMultiSoftprob, 2),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("row 2")));
  FetchedTable nulls = Table();
  nulls.is_null[4] = true;
  EXPECT_THAT(BuildTrainingSet(nulls, "label", {"x"}, "", Objective::kRegSquaredError, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("row 1, column \"label\": NULL")));
  EXPECT_THAT(BuildTrainingSet(Table(), "label", {"nope"}, "", Objective::kRegSquaredError, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nope")));
  EXPECT_THAT(CheckLabelType("label", kTypeDouble, Objective::kBinaryLogistic),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("data.label_column")));
}

}  // namespace
}  // namespace mlops::training

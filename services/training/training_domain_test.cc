// Unit tests of the training domain: split, metrics (against hand-computed
// values), the built-in XGBoost trainer, and the hyperparameter search.
#include <atomic>
#include <cmath>
#include <random>
#include <set>
#include <thread>

#include "common/testing/status_matchers.h"
#include "common/xgboost/xgb_booster.h"
#include "common/xgboost/xgb_matrix.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/training/eval_metrics.h"
#include "services/training/hyper_search.h"
#include "services/training/training_set.h"
#include "services/training/xgb_trainer.h"

namespace mlops::training {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TrainingSet MakeBinarySet(std::size_t rows, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0, 1);
  TrainingSet set;
  set.feature_names = {"x0", "x1", "x2"};
  set.feature_types = {kTypeDouble, kTypeDouble, kTypeInt64};
  for (std::size_t i = 0; i < rows; ++i) {
    const float x0 = u(rng), x1 = u(rng);
    set.values.insert(set.values.end(), {x0, x1, static_cast<float>(i % 5)});
    set.labels.push_back(x0 + 0.5f * x1 + 0.2f * u(rng) > 0.9f ? 1.0f : 0.0f);
    set.timestamps.push_back(static_cast<int64_t>(1000 * i));
  }
  return set;
}

TEST(SplitTest, RandomSplitIsDeterministicDisjointAndSized) {
  const TrainingSet set = MakeBinarySet(1000, 1);
  SplitOptions o;
  o.seed = 42;
  MLOPS_ASSERT_OK_AND_ASSIGN(SplitIndices a, SplitRows(set, o));
  MLOPS_ASSERT_OK_AND_ASSIGN(SplitIndices b, SplitRows(set, o));
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.test.size(), 200u);
  EXPECT_EQ(a.validation.size(), 80u);
  EXPECT_EQ(a.train.size(), 720u);
  std::set<std::size_t> all(a.train.begin(), a.train.end());
  all.insert(a.validation.begin(), a.validation.end());
  all.insert(a.test.begin(), a.test.end());
  EXPECT_EQ(all.size(), 1000u);
  o.seed = 43;
  MLOPS_ASSERT_OK_AND_ASSIGN(SplitIndices c, SplitRows(set, o));
  EXPECT_NE(a.test, c.test);
}

TEST(SplitTest, TimeCutoffPutsLaterRowsInTestAndLatestRestInValidation) {
  const TrainingSet set = MakeBinarySet(100, 2);  // row i at time 1000 i
  SplitOptions o;
  o.by_time = true;
  o.time_cutoff_micros = 90000;
  o.validation_fraction = 0.1;
  MLOPS_ASSERT_OK_AND_ASSIGN(SplitIndices s, SplitRows(set, o));
  ASSERT_EQ(s.test.size(), 10u);
  EXPECT_EQ(s.test.front(), 90u);
  ASSERT_EQ(s.validation.size(), 9u);
  EXPECT_EQ(s.validation.front(), 81u);
  EXPECT_EQ(s.train.back(), 80u);
}

TEST(SplitTest, RejectsEmptySetsBadFractionsAndTimeSplitWithoutTimes) {
  TrainingSet empty;
  EXPECT_THAT(SplitRows(empty, {}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  TrainingSet set = MakeBinarySet(10, 3);
  SplitOptions bad;
  bad.test_fraction = 0.95;
  EXPECT_THAT(SplitRows(set, bad), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("test_fraction")));
  set.timestamps.clear();
  SplitOptions by_time;
  by_time.by_time = true;
  EXPECT_THAT(SplitRows(set, by_time), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MetricsTest, BinaryMetricsMatchHandComputedValues) {
  const std::vector<float> labels = {1, 0, 1, 0};
  const std::vector<float> scores = {0.9f, 0.4f, 0.35f, 0.1f};
  EXPECT_NEAR(Auc(labels, scores), 0.75, 1e-12);
  EXPECT_NEAR(LogLoss(labels, scores), 0.442842, 1e-5);
  const BinaryCounts c = CountBinary(labels, scores);
  EXPECT_NEAR(Accuracy(c), 0.75, 1e-12);
  EXPECT_NEAR(Precision(c), 1.0, 1e-12);
  EXPECT_NEAR(Recall(c), 0.5, 1e-12);
  EXPECT_NEAR(F1(c), 2.0 / 3, 1e-12);
  EXPECT_NEAR(Auc({1, 0}, {0.5f, 0.5f}), 0.5, 1e-12);  // ties count half
  EXPECT_TRUE(std::isnan(Auc({1, 1}, {0.2f, 0.3f})));
}

TEST(MetricsTest, RegressionMetricsMatchHandComputedValues) {
  const std::vector<float> labels = {1, 2, 3};
  const std::vector<float> preds = {1.5f, 2, 2};
  EXPECT_NEAR(Rmse(labels, preds), std::sqrt(1.25 / 3), 1e-9);
  EXPECT_NEAR(Mae(labels, preds), 0.5, 1e-9);
  EXPECT_NEAR(R2(labels, preds), 0.375, 1e-9);
}

TEST(MetricsTest, MultiClassMetricsMatchHandComputedValues) {
  const std::vector<float> labels = {0, 1, 2};
  const std::vector<float> probs = {0.7f, 0.2f, 0.1f, 0.1f, 0.8f, 0.1f, 0.5f, 0.3f, 0.2f};
  EXPECT_NEAR(MultiLogLoss(labels, probs, 3), 0.729752, 1e-5);
  EXPECT_THAT(MultiClassMetrics(labels, probs, 3),
              ElementsAre(Pair("accuracy", DoubleNear(2.0 / 3, 1e-9)),
                          Pair("f1", DoubleNear((2.0 / 3 + 1) / 3, 1e-9)),
                          Pair("precision", DoubleNear(0.5, 1e-9)),
                          Pair("recall", DoubleNear(2.0 / 3, 1e-9))));
}

TEST(MetricsTest, EvaluatePredictionsPrefixesKeysAndDropsUndefinedValues) {
  const auto m = EvaluatePredictions(Objective::kBinaryLogistic, 0, {1, 1}, {0.9f, 0.8f}, "test_");
  EXPECT_EQ(m.count("test_auc"), 0u);  // one class only
  EXPECT_NEAR(m.at("test_accuracy"), 1.0, 1e-12);
  EXPECT_EQ(EvaluatePredictions(Objective::kRegSquaredError, 0, {}, {}, "test_").size(), 0u);
}

TEST(MetricsTest, AucEqualsThePairCountWithTiesSignsAndZeros) {
  std::mt19937 rng(3);
  const std::vector<float> pool = {-2.5f, -1e-30f, -0.0f, 0.0f, 1e-30f, 0.25f, 0.5f, 0.50000006f, 1, 3e8f};
  for (int trial = 0; trial < 20; ++trial) {
    const std::size_t n = 1 + rng() % 700;
    std::vector<float> labels(n), scores(n);
    for (std::size_t i = 0; i < n; ++i) {
      labels[i] = static_cast<float>(rng() % 2);
      // Half the trials draw from a small pool (many ties), half from a wide range.
      scores[i] = trial % 2 ? pool[rng() % pool.size()] : std::ldexp(static_cast<float>(rng() % 1000) - 500, -static_cast<int>(rng() % 40));
    }
    double pairs = 0, positives = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (labels[i] != 1) continue;
      ++positives;
      for (std::size_t j = 0; j < n; ++j) {
        if (labels[j] == 0) pairs += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
      }
    }
    const double negatives = static_cast<double>(n) - positives;
    if (positives == 0 || negatives == 0) {
      EXPECT_TRUE(std::isnan(Auc(labels, scores)));
    } else {
      EXPECT_EQ(Auc(labels, scores), pairs / (positives * negatives)) << "trial " << trial;
    }
  }
}

// Trains a booster 8 rounds with `params` (and eval_metric `metrics`); after
// each round CurveMetric of its cached validation predictions must equal
// XGBoost's own evaluation of the same rows.
void ExpectCurveMetricsEqualXgboosts(const TrainingSet& set, Objective objective, int num_class,
                                     xgb::XgbBooster::Params params, const std::vector<std::string>& metrics) {
  const SplitIndices split = *SplitRows(set, SplitOptions{});
  const DenseBlock train = TakeRows(set, split.train), valid = TakeRows(set, split.test);
  MLOPS_ASSERT_OK_AND_ASSIGN(xgb::XgbMatrix tm, xgb::XgbMatrix::FromDense(train.values, train.rows, train.cols));
  MLOPS_ASSERT_OK_AND_ASSIGN(xgb::XgbMatrix vm, xgb::XgbMatrix::FromDense(valid.values, valid.rows, valid.cols));
  MLOPS_ASSERT_OK(tm.SetLabels(train.labels));
  MLOPS_ASSERT_OK(vm.SetLabels(valid.labels));
  params.insert(params.end(), {{"nthread", "1"}, {"max_depth", "3"}, {"verbosity", "0"}});
  for (const std::string& m : metrics) params.emplace_back("eval_metric", m);
  MLOPS_ASSERT_OK_AND_ASSIGN(xgb::XgbBooster booster, xgb::XgbBooster::ForTraining({&tm, &vm}, params));
  for (int round = 0; round < 8; ++round) {
    MLOPS_ASSERT_OK(booster.TrainOneRound(round, tm));
    MLOPS_ASSERT_OK_AND_ASSIGN(auto xgb_eval, booster.Evaluate(round, {{"valid", &vm}}));
    MLOPS_ASSERT_OK_AND_ASSIGN(xgb::Prediction p, booster.Predict(vm));
    for (const std::string& m : metrics) {
      const std::optional<double> ours = CurveMetric(m, objective, num_class, valid.labels, p.values);
      ASSERT_TRUE(ours.has_value()) << m;
      const double theirs = xgb_eval.at("valid-" + m);
      // The same arithmetic in the same order: equal to the last bit (XGBoost
      // prints 17 decimals, which round-trip for these values).
      EXPECT_EQ(*ours, theirs) << m << " round " << round;
    }
  }
}

TEST(CurveMetricTest, EqualsXgboostsEvaluationOfTheSameBoosterEveryRound) {
  // Coarse features: few distinct predictions, so many tied scores.
  TrainingSet set = MakeBinarySet(3000, 12);
  for (float& v : set.values) v = std::round(v * 4) / 4;
  ExpectCurveMetricsEqualXgboosts(set, Objective::kBinaryLogistic, 0, {{"objective", "binary:logistic"}},
                                  {"auc", "logloss", "rmse"});
  TrainingSet reg = set;
  for (std::size_t i = 0; i < reg.rows(); ++i) reg.labels[i] = 3 * reg.values[i * 3] - reg.values[i * 3 + 1];
  ExpectCurveMetricsEqualXgboosts(reg, Objective::kRegSquaredError, 0, {{"objective", "reg:squarederror"}}, {"rmse"});
  TrainingSet multi = set;
  for (std::size_t i = 0; i < multi.rows(); ++i) multi.labels[i] = static_cast<float>(i % 3 == 0 ? 2 : multi.labels[i]);
  ExpectCurveMetricsEqualXgboosts(multi, Objective::kMultiSoftprob, 3,
                                  {{"objective", "multi:softprob"}, {"num_class", "3"}}, {"mlogloss"});
  EXPECT_FALSE(HasCurveMetric("auc", Objective::kMultiSoftprob));  // multi-class AUC: XGBoost's
  EXPECT_FALSE(CurveMetric("error", Objective::kBinaryLogistic, 0, {1}, {0.5f}).has_value());
}

struct Blocks {
  DenseBlock train, valid, test;
};

Blocks SplitBlocks(const TrainingSet& set, uint64_t seed) {
  SplitOptions o;
  o.seed = seed;
  const SplitIndices s = *SplitRows(set, o);
  return {TakeRows(set, s.train), TakeRows(set, s.validation), TakeRows(set, s.test)};
}

TEST(XgbTrainerTest, TrainsBinaryGbtreeWithGoodTestMetrics) {
  const Blocks b = SplitBlocks(MakeBinarySet(2000, 4), 7);
  TrainerConfig config;
  config.num_boost_round = 30;
  config.params = {{"max_depth", "3"}, {"eta", "0.3"}};
  int rounds_seen = 0;
  MLOPS_ASSERT_OK_AND_ASSIGN(
      TrainOutcome out, BuiltinXgbTrainer::Train(config, b.train, b.valid, b.test,
                                                 [&](int, const std::map<std::string, double>& m) {
                                                   EXPECT_EQ(m.count("validation_auc"), 1u);
                                                   ++rounds_seen;
                                                   return true;
                                                 }));
  EXPECT_EQ(rounds_seen, 30);
  EXPECT_EQ(out.best_iteration, 29);
  EXPECT_GT(out.test_metrics.at("test_auc"), 0.9);
  for (const char* k : {"test_logloss", "test_accuracy", "test_precision", "test_recall", "test_f1"}) {
    EXPECT_EQ(out.test_metrics.count(k), 1u) << k;
  }
  EXPECT_EQ(out.validation_metrics.count("validation_auc"), 1u);
}

TEST(XgbTrainerTest, RoundCallbackGetsXgboostsOwnValidationAuc) {
  TrainingSet set = MakeBinarySet(2000, 13);
  for (float& v : set.values) v = std::round(v * 8) / 8;  // tied predictions
  const Blocks b = SplitBlocks(set, 5);
  TrainerConfig config;
  config.num_boost_round = 12;
  config.seed = 3;
  config.params = {{"max_depth", "4"}, {"subsample", "0.8"}};
  std::vector<double> curve;
  MLOPS_ASSERT_OK_AND_ASSIGN(TrainOutcome out, BuiltinXgbTrainer::Train(config, b.train, b.valid, b.test,
                                                                        [&](int, const auto& m) {
                                                                          curve.push_back(m.at("validation_auc"));
                                                                          return true;
                                                                        }));
  // The same model trained and evaluated by XGBoost alone.
  MLOPS_ASSERT_OK_AND_ASSIGN(xgb::XgbMatrix tm, xgb::XgbMatrix::FromDense(b.train.values, b.train.rows, b.train.cols));
  MLOPS_ASSERT_OK_AND_ASSIGN(xgb::XgbMatrix vm, xgb::XgbMatrix::FromDense(b.valid.values, b.valid.rows, b.valid.cols));
  MLOPS_ASSERT_OK(tm.SetLabels(b.train.labels));
  MLOPS_ASSERT_OK(vm.SetLabels(b.valid.labels));
  MLOPS_ASSERT_OK_AND_ASSIGN(
      xgb::XgbBooster booster,
      xgb::XgbBooster::ForTraining({&tm, &vm}, {{"booster", "gbtree"}, {"objective", "binary:logistic"}, {"seed", "3"},
                                                {"nthread", "1"}, {"verbosity", "0"}, {"max_depth", "4"},
                                                {"subsample", "0.8"}, {"eval_metric", "auc"}}));
  ASSERT_EQ(curve.size(), 12u);
  for (int round = 0; round < 12; ++round) {
    MLOPS_ASSERT_OK(booster.TrainOneRound(round, tm));
    MLOPS_ASSERT_OK_AND_ASSIGN(auto eval, booster.Evaluate(round, {{"valid", &vm}}));
    EXPECT_EQ(curve[static_cast<std::size_t>(round)], eval.at("valid-auc")) << "round " << round;
  }
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string json, booster.SaveJson());
  EXPECT_EQ(json, out.model_json);
}

TEST(XgbTrainerTest, SameInputsAndSeedGiveAByteIdenticalArtifact) {
  const TrainingSet set = MakeBinarySet(1500, 5);
  TrainerConfig config;
  config.num_boost_round = 15;
  config.seed = 11;
  config.params = {{"subsample", "0.7"}, {"colsample_bytree", "0.8"}};
  const Blocks b = SplitBlocks(set, 3);
  MLOPS_ASSERT_OK_AND_ASSIGN(TrainOutcome one, BuiltinXgbTrainer::Train(config, b.train, b.valid, b.test, nullptr));
  MLOPS_ASSERT_OK_AND_ASSIGN(TrainOutcome two, BuiltinXgbTrainer::Train(config, b.train, b.valid, b.test, nullptr));
  EXPECT_EQ(one.model_json, two.model_json);
  config.seed = 12;  // subsampling with another seed gives another model
  MLOPS_ASSERT_OK_AND_ASSIGN(TrainOutcome three, BuiltinXgbTrainer::Train(config, b.train, b.valid, b.test, nullptr));
  EXPECT_NE(one.model_json, three.model_json);
}

TEST(XgbTrainerTest, EarlyStoppingKeepsTheBestIteration) {
  // Pure noise labels: the validation AUC stops improving quickly.
  TrainingSet set = MakeBinarySet(600, 6);
  std::mt19937 rng(1);
  for (float& l : set.labels) l = static_cast<float>(rng() % 2);
  const Blocks b = SplitBlocks(set, 1);
  TrainerConfig config;
  config.num_boost_round = 200;
  config.early_stopping_rounds = 5;
  config.params = {{"max_depth", "6"}, {"eta", "0.5"}};
  MLOPS_ASSERT_OK_AND_ASSIGN(TrainOutcome out, BuiltinXgbTrainer::Train(config, b.train, b.valid, b.test, nullptr));
  EXPECT_LT(out.rounds_trained, 200);
  EXPECT_EQ(out.rounds_trained, out.best_iteration + 1 + 5);
}

TEST(XgbTrainerTest, TrainsLinearRegressionAndMultiClass) {
  TrainingSet reg = MakeBinarySet(800, 7);
  for (std::size_t i = 0; i < reg.rows(); ++i) reg.labels[i] = 3 * reg.values[i * 3] - reg.values[i * 3 + 1];
  Blocks b = SplitBlocks(reg, 2);
  TrainerConfig linear;
  linear.booster = BoosterKind::kGblinear;
  linear.objective = Objective::kRegSquaredError;
  linear.num_boost_round = 50;
  linear.early_stopping_rounds = 3;
  MLOPS_ASSERT_OK_AND_ASSIGN(TrainOutcome out, BuiltinXgbTrainer::Train(linear, b.train, b.valid, b.test, nullptr));
  EXPECT_GT(out.test_metrics.at("test_r2"), 0.9);
  EXPECT_EQ(out.test_metrics.count("test_rmse"), 1u);
  EXPECT_EQ(out.test_metrics.count("test_mae"), 1u);

  TrainingSet multi = MakeBinarySet(900, 8);
  for (std::size_t i = 0; i < multi.rows(); ++i) multi.labels[i] = multi.values[i * 3 + 2] < 2 ? 0.f : multi.values[i * 3 + 2] < 4 ? 1.f : 2.f;
  b = SplitBlocks(multi, 2);
  TrainerConfig softprob;
  softprob.objective = Objective::kMultiSoftprob;
  softprob.num_class = 3;
  softprob.num_boost_round = 10;
  MLOPS_ASSERT_OK_AND_ASSIGN(out, BuiltinXgbTrainer::Train(softprob, b.train, b.valid, b.test, nullptr));
  EXPECT_GT(out.test_metrics.at("test_accuracy"), 0.95);
  EXPECT_EQ(out.validation_metrics.count("validation_mlogloss"), 1u);
}

TEST(XgbTrainerTest, AHyperparameterXgboostRejectsFailsWithItsMessage) {
  const Blocks b = SplitBlocks(MakeBinarySet(200, 9), 1);
  TrainerConfig config;
  config.num_boost_round = 3;
  config.params = {{"max_depth", "-3"}};
  absl::StatusOr<TrainOutcome> out = BuiltinXgbTrainer::Train(config, b.train, b.valid, b.test, nullptr);
  EXPECT_THAT(out, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("xgboost: ")));
  EXPECT_THAT(out.status().message(), HasSubstr("max_depth"));
}

TEST(XgbTrainerTest, CallbackStopsTraining) {
  const Blocks b = SplitBlocks(MakeBinarySet(300, 10), 1);
  TrainerConfig config;
  config.num_boost_round = 50;
  MLOPS_ASSERT_OK_AND_ASSIGN(
      TrainOutcome out, BuiltinXgbTrainer::Train(config, b.train, b.valid, b.test,
                                                 [](int round, const auto&) { return round < 4; }));
  EXPECT_TRUE(out.stopped_by_callback);
  EXPECT_EQ(out.rounds_trained, 5);
}

ParamRange IntRange(std::string name, int64_t lo, int64_t hi, int64_t step = 1) {
  ParamRange r;
  r.name = std::move(name);
  r.int_min = lo;
  r.int_max = hi;
  r.int_step = step;
  return r;
}

TEST(SearchTest, GridVariesTheLastParameterFastest) {
  ParamRange eta;
  eta.name = "eta";
  eta.kind = ParamRange::Kind::kFloat;
  eta.float_min = 0.01;
  eta.float_max = 1;
  eta.log_scale = true;
  eta.grid_points = 3;
  MLOPS_ASSERT_OK_AND_ASSIGN(auto trials, GridTrials({IntRange("max_depth", 2, 6, 2), eta}, 0));
  ASSERT_EQ(trials.size(), 9u);
  EXPECT_EQ(trials[0].at("max_depth"), "2");
  EXPECT_EQ(trials[0].at("eta"), "0.01");
  EXPECT_EQ(trials[1].at("eta"), "0.1");
  EXPECT_EQ(trials[2].at("eta"), "1");
  EXPECT_EQ(trials[3].at("max_depth"), "4");
  MLOPS_ASSERT_OK_AND_ASSIGN(auto first4, GridTrials({IntRange("max_depth", 2, 6, 2), eta}, 4));
  EXPECT_EQ(first4.size(), 4u);
}

TEST(SearchTest, RandomSamplesAreSeededAndInRange) {
  ParamRange cat;
  cat.name = "tree_method";
  cat.kind = ParamRange::Kind::kCategorical;
  cat.values = {"exact", "hist"};
  ParamRange sub;
  sub.name = "subsample";
  sub.kind = ParamRange::Kind::kFloat;
  sub.float_min = 0.5;
  sub.float_max = 1;
  MLOPS_ASSERT_OK_AND_ASSIGN(auto a, RandomTrials({IntRange("d", 1, 9, 2), cat, sub}, 50, 7));
  MLOPS_ASSERT_OK_AND_ASSIGN(auto b, RandomTrials({IntRange("d", 1, 9, 2), cat, sub}, 50, 7));
  EXPECT_EQ(a, b);
  std::set<std::string> depths;
  for (const auto& t : a) {
    depths.insert(t.at("d"));
    const double s = std::stod(t.at("subsample"));
    EXPECT_GE(s, 0.5);
    EXPECT_LE(s, 1.0);
  }
  EXPECT_EQ(depths, (std::set<std::string>{"1", "3", "5", "7", "9"}));
}

TEST(SearchTest, RejectsBadRangesNamingTheParameter) {
  EXPECT_THAT(ValidateRanges({IntRange("a", 5, 1)}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("search.parameters[0]")));
  EXPECT_THAT(ValidateRanges({IntRange("a", 1, 2), IntRange("a", 1, 2)}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("duplicate")));
  ParamRange log;
  log.name = "eta";
  log.kind = ParamRange::Kind::kFloat;
  log.float_min = 0;
  log.float_max = 1;
  log.log_scale = true;
  EXPECT_THAT(ValidateRanges({log}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("SCALE_LOG")));
  EXPECT_THAT(GridTrials({IntRange("a", 0, 200), IntRange("b", 0, 200)}, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("10000")));
}

TEST(SearchTest, NaturalDirectionFollowsTheMetricName) {
  EXPECT_EQ(NaturalDirection("validation_auc"), Direction::kMaximize);
  EXPECT_EQ(NaturalDirection("test_r2"), Direction::kMaximize);
  EXPECT_EQ(NaturalDirection("validation_rmse"), Direction::kMinimize);
  EXPECT_EQ(NaturalDirection("validation_mlogloss"), Direction::kMinimize);
}

TEST(MedianStopperTest, StopsATrialWorseThanTheMedianAfterMinStep) {
  MedianStopper stopper(Direction::kMaximize, 3, 2);
  EXPECT_FALSE(stopper.ShouldStop(5, 0.1));  // no completed trials yet
  stopper.AddCompleted({0.6, 0.7, 0.8});     // running averages at step 2: 0.7
  stopper.AddCompleted({0.5, 0.5, 0.5});     // 0.5
  stopper.AddCompleted({0.9, 0.9, 0.9});     // 0.9
  EXPECT_FALSE(stopper.ShouldStop(1, 0.1));  // before min_step
  EXPECT_TRUE(stopper.ShouldStop(2, 0.65));  // median 0.7
  EXPECT_FALSE(stopper.ShouldStop(2, 0.75));
  EXPECT_TRUE(stopper.ShouldStop(10, 0.69));  // beyond the curves: their whole average
}

TEST(RunTrialsTest, StopsStartingTrialsAfterTooManyFailuresAndBoundsParallelism) {
  std::atomic<int> running{0}, peak{0};
  ExecutorSummary s = RunTrials(20, 3, 2, nullptr, [&](int) {
    const int now = ++running;
    int p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {}
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    --running;
    return TrialResult::kFailed;
  });
  EXPECT_TRUE(s.stopped_for_failures);
  EXPECT_LE(s.started, 5);  // 3 failures stop it; at most 2 more were in flight
  EXPECT_LE(peak.load(), 3);
  std::atomic<bool> cancel{false};
  s = RunTrials(10, 1, std::nullopt, [&] { return cancel.load(); }, [&](int i) {
    if (i == 2) cancel = true;
    return TrialResult::kSucceeded;
  });
  EXPECT_EQ(s.started, 3);
  EXPECT_TRUE(s.cancelled);
}

}  // namespace
}  // namespace mlops::training

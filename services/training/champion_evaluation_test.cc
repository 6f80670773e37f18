// ChampionEvaluation: the champion's input matrix mapped by its signature's
// input names, its metrics computed with the candidate's metric code, and
// what Run does for each registry answer (a fake ModelRegistrar in process).
#include "services/training/champion_evaluation.h"

#include <cmath>
#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "common/xgboost/xgb_booster.h"
#include "common/xgboost/xgb_matrix.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/registry/v1/registry.pb.h"
#include "services/training/tracking.h"

namespace mlops::training {
namespace {

namespace rv1 = ::mlops::registry::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Rows (a, b, c) with label = (a + b > 1); c is noise.
DenseBlock Rows(std::size_t n) {
  DenseBlock b;
  b.rows = n;
  b.cols = 3;
  for (std::size_t i = 0; i < n; ++i) {
    const float a = static_cast<float>((i * 37) % 100) / 100.0f;
    const float bb = static_cast<float>((i * 61) % 100) / 100.0f;
    b.values.insert(b.values.end(), {a, bb, static_cast<float>(i % 7)});
    b.labels.push_back(a + bb > 1.0f ? 1.0f : 0.0f);
  }
  return b;
}

// An XGBoost JSON model over the columns (b, a) of `rows`.
std::string TrainBA(const DenseBlock& rows) {
  DenseBlock ba = *ChampionInputs({"a", "b", "c"}, rows, {"b", "a"});
  auto m = xgb::XgbMatrix::FromDense(ba.values, ba.rows, ba.cols);
  EXPECT_TRUE(m.ok());
  EXPECT_TRUE(m->SetLabels(ba.labels).ok());
  auto booster = xgb::XgbBooster::ForTraining({&*m}, {{"objective", "binary:logistic"}, {"max_depth", "3"}});
  EXPECT_TRUE(booster.ok());
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(booster->TrainOneRound(i, *m).ok());
  return *booster->SaveJson();
}

TEST(ChampionInputsTest, ReordersColumnsByTheChampionsInputNames) {
  DenseBlock test;
  test.rows = 2;
  test.cols = 3;
  test.values = {1, 2, 3, 4, 5, 6};
  test.labels = {0, 1};
  MLOPS_ASSERT_OK_AND_ASSIGN(DenseBlock out, ChampionInputs({"x", "y", "z"}, test, {"z", "x"}));
  EXPECT_EQ(out.rows, 2u);
  EXPECT_EQ(out.cols, 2u);
  EXPECT_THAT(out.values, ElementsAre(3, 1, 6, 4));
  EXPECT_THAT(out.labels, ElementsAre(0, 1));
}

TEST(ChampionInputsTest, MissingInputIsFailedPreconditionNamingIt) {
  DenseBlock test;
  test.rows = 1;
  test.cols = 1;
  test.values = {1};
  test.labels = {0};
  absl::StatusOr<DenseBlock> out = ChampionInputs({"x"}, test, {"x", "merchant_risk"});
  EXPECT_TRUE(absl::IsFailedPrecondition(out.status()));
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("\"merchant_risk\""));
}

TEST(ScoreModelTest, MetricsEqualTheCandidatesMetricCodeOnTheSamePredictions) {
  const DenseBlock rows = Rows(400);
  const std::string model = TrainBA(rows);
  MLOPS_ASSERT_OK_AND_ASSIGN(DenseBlock ba, ChampionInputs({"a", "b", "c"}, rows, {"b", "a"}));
  MLOPS_ASSERT_OK_AND_ASSIGN(auto metrics, ScoreModel(model, Objective::kBinaryLogistic, 0, ba));
  MLOPS_ASSERT_OK_AND_ASSIGN(xgb::XgbBooster booster, xgb::XgbBooster::Load(model));
  MLOPS_ASSERT_OK_AND_ASSIGN(xgb::Prediction p, booster.PredictDense(ba.values.data(), ba.rows, ba.cols));
  const auto expected = EvaluatePredictions(Objective::kBinaryLogistic, 0, ba.labels, p.values, "");
  EXPECT_EQ(metrics.size(), expected.size());
  for (const auto& [k, v] : expected) EXPECT_NEAR(metrics.at(k), v, 1e-9) << k;
  EXPECT_GT(metrics.at("auc"), 0.9);
  // The wrong number of columns is refused, not silently scored.
  EXPECT_TRUE(absl::IsFailedPrecondition(ScoreModel(model, Objective::kBinaryLogistic, 0, rows).status()));
}

// A registrar with one production version (or none) that records calls.
class FakeRegistrar final : public ModelRegistrar {
 public:
  absl::StatusOr<int64_t> Register(const rv1::RegisterModelVersionHeader&, const std::string&) override {
    return absl::InternalError("not used");
  }
  absl::StatusOr<std::string> RequestStage(const std::string&, int64_t, const std::string&,
                                           const std::string&) override {
    return absl::InternalError("not used");
  }
  absl::StatusOr<rv1::ModelVersion> GetProductionVersion(const std::string&) override {
    if (!production) return absl::NotFoundError("no version in stage PRODUCTION");
    return *production;
  }
  absl::StatusOr<std::string> GetArtifact(const std::string&, int64_t, const std::string& sha) override {
    ++artifact_reads;
    if (Sha256Hex(artifact) != sha) return absl::DataLossError("sha256 mismatch");
    return artifact;
  }
  absl::Status AddEvaluation(const std::string&, int64_t version, const rv1::Evaluation& e) override {
    added.emplace_back(version, e);
    return add_status;
  }
  std::optional<rv1::ModelVersion> production;
  std::string artifact;
  int artifact_reads = 0;
  absl::Status add_status;
  std::vector<std::pair<int64_t, rv1::Evaluation>> added;
};

class ChampionEvaluationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rows_ = Rows(300);
    reg_.artifact = TrainBA(rows_);
    rv1::ModelVersion v;
    v.set_model("fraud");
    v.set_version(1);
    v.mutable_artifact()->set_sha256(Sha256Hex(reg_.artifact));
    v.mutable_signature()->add_inputs()->set_name("b");
    v.mutable_signature()->add_inputs()->set_name("a");
    v.mutable_signature()->mutable_output()->set_objective("binary:logistic");
    reg_.production = v;
    task_.model = "fraud";
    task_.candidate_version = 2;
    task_.evaluation_name = "test";
    task_.dataset_version = std::string(64, 'a');
    task_.split_columns = {"a", "b", "c"};
    task_.test = &rows_;
    task_.objective = Objective::kBinaryLogistic;
  }
  DenseBlock rows_;
  FakeRegistrar reg_;
  ChampionTask task_;
};

TEST_F(ChampionEvaluationTest, AddsTheChampionsEvaluationOnTheCandidatesDatasetVersion) {
  const ChampionOutcome out = ChampionEvaluation(&reg_).Run(task_);
  EXPECT_EQ(out.kind, ChampionOutcome::Kind::kAdded) << out.detail;
  EXPECT_EQ(out.champion_version, 1);
  ASSERT_EQ(reg_.added.size(), 1u);
  EXPECT_EQ(reg_.added[0].first, 1);
  EXPECT_EQ(reg_.added[0].second.name(), "test");
  EXPECT_EQ(reg_.added[0].second.dataset_version(), task_.dataset_version);
  EXPECT_EQ(reg_.added[0].second.row_count(), 300);
  EXPECT_NEAR(reg_.added[0].second.metrics().at("auc"), out.metrics.at("auc"), 0);
  EXPECT_THAT(out.detail, HasSubstr("champion fraud@1 evaluated on 300 test rows"));
}

TEST_F(ChampionEvaluationTest, AlreadyExistsIsFine) {
  reg_.add_status = absl::AlreadyExistsError("exists");
  const ChampionOutcome out = ChampionEvaluation(&reg_).Run(task_);
  EXPECT_EQ(out.kind, ChampionOutcome::Kind::kAlreadyPresent) << out.detail;
}

TEST_F(ChampionEvaluationTest, NoProductionVersionDoesNothing) {
  reg_.production.reset();
  const ChampionOutcome out = ChampionEvaluation(&reg_).Run(task_);
  EXPECT_EQ(out.kind, ChampionOutcome::Kind::kNoChampion);
  EXPECT_EQ(reg_.artifact_reads, 0);
  EXPECT_TRUE(reg_.added.empty());
}

TEST_F(ChampionEvaluationTest, InputMissingFromTheSplitIsSkippedWithItsName) {
  reg_.production->mutable_signature()->add_inputs()->set_name("merchant_risk");
  const ChampionOutcome out = ChampionEvaluation(&reg_).Run(task_);
  EXPECT_EQ(out.kind, ChampionOutcome::Kind::kSkipped);
  EXPECT_THAT(out.detail, HasSubstr("\"merchant_risk\""));
  EXPECT_EQ(reg_.artifact_reads, 0);
  EXPECT_TRUE(reg_.added.empty());
}

TEST_F(ChampionEvaluationTest, TamperedArtifactFailsWithoutAddingAnything) {
  reg_.artifact += " ";
  const ChampionOutcome out = ChampionEvaluation(&reg_).Run(task_);
  EXPECT_EQ(out.kind, ChampionOutcome::Kind::kFailed);
  EXPECT_THAT(out.detail, HasSubstr("sha256"));
  EXPECT_TRUE(reg_.added.empty());
}

}  // namespace
}  // namespace mlops::training

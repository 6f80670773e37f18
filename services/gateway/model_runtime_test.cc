// ModelCache over real XGBoost artifacts: load, verify sha256, warm up,
// bounded LRU that never pulls a model from under its users, one load for
// concurrent first requests, concurrent predictions.
#include "services/gateway/model_runtime.h"

#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <thread>

#include "common/auth/token.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/gateway/testing/fake_peers.h"

namespace mlops::gateway {
namespace {

class MemorySource final : public ArtifactSource {
 public:
  void Add(const std::string& model, int64_t version, std::string bytes, int cols) {
    ModelVersionInfo info;
    info.model = model;
    info.version = version;
    info.artifact_sha256 = HashToken(bytes);
    for (int i = 0; i < cols; ++i) {
      SignatureInput in;
      in.name = "f" + std::to_string(i);
      info.signature.inputs.push_back(in);
    }
    info.signature.output = OutputKind::kBinaryProbability;
    std::lock_guard<std::mutex> lock(mu_);
    entries_[{model, version}] = {info, std::move(bytes)};
  }
  void Corrupt(const std::string& model, int64_t version) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_[{model, version}].second += " ";
  }
  absl::StatusOr<ModelVersionInfo> GetVersion(const std::string& model, int64_t version) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find({model, version});
    if (it == entries_.end()) return absl::NotFoundError("no version");
    return it->second.first;
  }
  absl::StatusOr<std::string> GetArtifact(const ModelVersionInfo& info, const std::string&) override {
    ++reads;
    std::lock_guard<std::mutex> lock(mu_);
    return entries_[{info.model, info.version}].second;
  }
  std::atomic<int> reads{0};

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, int64_t>, std::pair<ModelVersionInfo, std::string>> entries_;
};

class ModelCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MLOPS_ASSERT_OK_AND_ASSIGN(model_json_, testing::TrainTestModel(3, 10, 3, 1));
    for (int v = 1; v <= 3; ++v) source_.Add("fraud", v, model_json_, 3);
  }
  std::string model_json_;
  MemorySource source_;
  XgbModelLoader loader_;
};

TEST_F(ModelCacheTest, LoadsVerifiesWarmsUpAndPredictsProbabilities) {
  ModelCache cache(&source_, &loader_, 4, [] { return int64_t{42}; });
  MLOPS_ASSERT_OK_AND_ASSIGN(std::shared_ptr<const LoadedModel> m, cache.Get("fraud", 1, "ep"));
  EXPECT_EQ(m->loaded_at_micros, 42);
  EXPECT_EQ(m->model->runtime(), "xgboost-flat");
  const float rows[] = {0.9f, 0.9f, 0.5f, 0.05f, 0.05f, 0.5f};
  MLOPS_ASSERT_OK_AND_ASSIGN(xgb::Prediction p, m->model->Predict(rows, 2, 3));
  ASSERT_EQ(p.values.size(), 2u);
  EXPECT_GT(p.values[0], 0.5);
  EXPECT_LT(p.values[1], 0.5);
}

TEST_F(ModelCacheTest, FlatTreesPredictWhatXgboostPredicts) {
  XgbModelLoader xgboost_only(false);
  ModelCache flat(&source_, &loader_, 4, [] { return int64_t{0}; });
  ModelCache plain(&source_, &xgboost_only, 4, [] { return int64_t{0}; });
  MLOPS_ASSERT_OK_AND_ASSIGN(std::shared_ptr<const LoadedModel> a, flat.Get("fraud", 1, "ep"));
  MLOPS_ASSERT_OK_AND_ASSIGN(std::shared_ptr<const LoadedModel> b, plain.Get("fraud", 1, "ep"));
  EXPECT_EQ(a->model->runtime(), "xgboost-flat");
  EXPECT_EQ(b->model->runtime(), "xgboost");
  const float rows[] = {0.9f, NAN, 0.5f, 0.05f, 0.05f, 0.5f, NAN, NAN, NAN};
  MLOPS_ASSERT_OK_AND_ASSIGN(xgb::Prediction pa, a->model->Predict(rows, 3, 3));
  MLOPS_ASSERT_OK_AND_ASSIGN(xgb::Prediction pb, b->model->Predict(rows, 3, 3));
  EXPECT_EQ(pa.values, pb.values);
  // Explanations still come from XGBoost.
  MLOPS_ASSERT_OK_AND_ASSIGN(xgb::Contributions ea, a->model->Explain(rows, 3, 3));
  EXPECT_EQ(ea.rows, 3u);
}

TEST_F(ModelCacheTest, RejectsBytesThatDoNotHashToTheSha256) {
  source_.Corrupt("fraud", 2);
  ModelCache cache(&source_, &loader_, 4, [] { return int64_t{0}; });
  EXPECT_THAT(cache.Get("fraud", 2, "ep").status(),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::HasSubstr("sha256 mismatch")));
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(ModelCacheTest, WarmUpFailsWhenTheSignatureHasFewerInputsThanTheModel) {
  source_.Add("narrow", 1, model_json_, 2);  // the model needs 3 columns
  ModelCache cache(&source_, &loader_, 4, [] { return int64_t{0}; });
  EXPECT_THAT(cache.Get("narrow", 1, "ep").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::HasSubstr("warm-up")));
}

TEST_F(ModelCacheTest, EvictsTheLeastRecentlyUsedButKeepsItAliveForItsUsers) {
  ModelCache cache(&source_, &loader_, 2, [] { return int64_t{0}; });
  MLOPS_ASSERT_OK_AND_ASSIGN(auto v1, cache.Get("fraud", 1, "ep"));
  MLOPS_ASSERT_OK_AND_ASSIGN(auto v2, cache.Get("fraud", 2, "ep"));
  MLOPS_ASSERT_OK(cache.Get("fraud", 1, "ep").status());  // v1 most recent
  MLOPS_ASSERT_OK(cache.Get("fraud", 3, "ep").status());  // evicts v2
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.Peek("fraud", 2), nullptr);
  EXPECT_NE(cache.Peek("fraud", 1), nullptr);
  const float row[] = {0.1f, 0.2f, 0.3f};
  EXPECT_THAT(v2->model->Predict(row, 1, 3).status(), IsOk());  // still usable
}

TEST_F(ModelCacheTest, ConcurrentFirstRequestsLoadOnceAndPredictInParallel) {
  ModelCache cache(&source_, &loader_, 4, [] { return int64_t{0}; });
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        absl::StatusOr<std::shared_ptr<const LoadedModel>> m = cache.Get("fraud", 1, "ep");
        const float row[] = {0.7f, 0.7f, 0.1f};
        if (!m.ok() || !(*m)->model->Predict(row, 1, 3).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(source_.reads.load(), 1);
}

}  // namespace
}  // namespace mlops::gateway

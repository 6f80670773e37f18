#include "services/gateway/model_runtime.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/auth/token.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/gateway/flat_forest.h"

namespace mlops::gateway {
namespace {

class XgbModel final : public Model {
 public:
  XgbModel(xgb::XgbBooster booster, std::optional<FlatForest> flat)
      : booster_(std::move(booster)), flat_(std::move(flat)) {}
  absl::StatusOr<xgb::Prediction> Predict(const float* values, std::size_t rows,
                                          std::size_t cols) const override {
    if (flat_) return flat_->Predict(values, rows, cols);
    return booster_.PredictDense(values, rows, cols);
  }
  std::string runtime() const override { return flat_ ? "xgboost-flat" : "xgboost"; }
  absl::StatusOr<xgb::Contributions> Explain(const float* values, std::size_t rows,
                                             std::size_t cols) const override {
    return booster_.PredictContributions(values, rows, cols);
  }

 private:
  xgb::XgbBooster booster_;
  std::optional<FlatForest> flat_;
};

// The booster's trees as a FlatForest, if it accepts them and predicts the
// same floats as XGBoost on 256 random rows (values in [-1, 2], 10% NaN).
absl::StatusOr<FlatForest> VerifiedFlatForest(const xgb::XgbBooster& booster) {
  MLOPS_ASSIGN_OR_RETURN(std::string json, booster.SaveJson());
  MLOPS_ASSIGN_OR_RETURN(FlatForest flat, FlatForest::FromModelJson(json));
  const std::size_t cols = flat.num_features(), rows = 256;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 2);
  std::vector<float> x(rows * cols);
  for (float& v : x) v = rng() % 10 == 0 ? std::numeric_limits<float>::quiet_NaN() : u(rng);
  MLOPS_ASSIGN_OR_RETURN(xgb::Prediction want, booster.PredictDense(x.data(), rows, cols));
  MLOPS_ASSIGN_OR_RETURN(xgb::Prediction got, flat.Predict(x.data(), rows, cols));
  if (got.values.size() != want.values.size() ||
      std::memcmp(got.values.data(), want.values.data(), got.values.size() * sizeof(float)) != 0) {
    return absl::InternalError("flat trees differ from XGBoost on the load-time sample");
  }
  return flat;
}

std::size_t ExpectedOutputs(const ModelSignature& s) {
  return s.output == OutputKind::kMulticlass ? static_cast<std::size_t>(s.num_classes) : 1;
}

}  // namespace

absl::StatusOr<xgb::Contributions> Model::Explain(const float*, std::size_t, std::size_t) const {
  return absl::UnimplementedError(absl::StrCat("runtime \"", runtime(), "\" has no explanations"));
}

absl::StatusOr<std::unique_ptr<Model>> XgbModelLoader::Load(const ModelVersionInfo& info,
                                                            std::string_view bytes) const {
  absl::StatusOr<xgb::XgbBooster> booster = xgb::XgbBooster::Load(bytes);
  if (!booster.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("model ", info.model, "@", info.version,
                                                      ": ", booster.status().message()));
  }
  // One OpenMP thread per prediction: requests are small and gRPC already runs
  // many at once; XGBoost's own thread pool only adds contention.
  if (absl::Status s = booster->SetParam("nthread", "1"); !s.ok()) return s;
  std::optional<FlatForest> flat;
  if (flat_trees_) {
    absl::StatusOr<FlatForest> f = VerifiedFlatForest(*booster);
    if (f.ok()) {
      flat = std::move(*f);
    } else {
      LogInfo("flat_trees_not_used", {{"model", info.model}, {"version", std::to_string(info.version)},
                                      {"reason", f.status().ToString()}});
    }
  }
  return std::unique_ptr<Model>(std::make_unique<XgbModel>(std::move(*booster), std::move(flat)));
}

absl::Status WarmUp(const LoadedModel& loaded) {
  const ModelVersionInfo& info = loaded.info;
  const std::size_t cols = info.signature.inputs.size();
  std::vector<float> row(cols, std::numeric_limits<float>::quiet_NaN());
  absl::StatusOr<xgb::Prediction> p = loaded.model->Predict(row.data(), 1, cols);
  if (!p.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("model ", info.model, "@", info.version, " failed its warm-up prediction (",
                     cols, " inputs): ", p.status().message()));
  }
  if (p->rows != 1 || p->outputs != ExpectedOutputs(info.signature)) {
    return absl::FailedPreconditionError(
        absl::StrCat("model ", info.model, "@", info.version, " returned ", p->outputs,
                     " outputs per row; the signature expects ", ExpectedOutputs(info.signature)));
  }
  return absl::OkStatus();
}

ModelCache::ModelCache(ArtifactSource* source, const ModelLoader* loader, std::size_t capacity,
                       std::function<int64_t()> now_micros)
    : source_(source),
      loader_(loader),
      capacity_(capacity < 1 ? 1 : capacity),
      now_micros_(std::move(now_micros)) {}

std::shared_ptr<const LoadedModel> ModelCache::Peek(const std::string& model,
                                                    int64_t version) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find({model, version});
  return it == models_.end() ? nullptr : it->second.first;
}

std::size_t ModelCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return models_.size();
}

absl::StatusOr<std::shared_ptr<const LoadedModel>> ModelCache::Get(const std::string& model,
                                                                   int64_t version,
                                                                   const std::string& endpoint) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = models_.find({model, version});
    if (it != models_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.second);
      return it->second.first;
    }
  }
  std::lock_guard<std::mutex> load_lock(load_mu_);
  if (std::shared_ptr<const LoadedModel> m = Peek(model, version)) return m;  // loaded meanwhile
  return LoadLocked(model, version, endpoint);
}

absl::StatusOr<std::shared_ptr<const LoadedModel>> ModelCache::LoadLocked(
    const std::string& model, int64_t version, const std::string& endpoint) {
  auto loaded = std::make_shared<LoadedModel>();
  MLOPS_ASSIGN_OR_RETURN(loaded->info, source_->GetVersion(model, version));
  MLOPS_ASSIGN_OR_RETURN(std::string bytes, source_->GetArtifact(loaded->info, endpoint));
  const std::string got = HashToken(bytes);
  if (got != loaded->info.artifact_sha256) {
    return absl::DataLossError(absl::StrCat("artifact of ", model, "@", version,
                                            ": sha256 mismatch: expected ",
                                            loaded->info.artifact_sha256, ", got ", got));
  }
  MLOPS_ASSIGN_OR_RETURN(loaded->model, loader_->Load(loaded->info, bytes));
  MLOPS_RETURN_IF_ERROR(WarmUp(*loaded));
  loaded->loaded_at_micros = now_micros_();
  auto names = std::make_shared<std::vector<std::string>>();
  for (const SignatureInput& in : loaded->info.signature.inputs) names->push_back(in.name);
  loaded->input_names = std::move(names);
  std::shared_ptr<const LoadedModel> out = std::move(loaded);
  std::lock_guard<std::mutex> lock(mu_);
  Key key{model, version};
  lru_.push_front(key);
  models_[key] = {out, lru_.begin()};
  while (models_.size() > capacity_) {
    models_.erase(lru_.back());  // in-flight users keep their shared_ptr
    lru_.pop_back();
  }
  return out;
}

}  // namespace mlops::gateway

#pragma once
// The gateway's model runtime: what a model version is to the gateway (its
// signature as a plain struct), how its artifact is fetched (ArtifactSource)
// and turned into something that predicts (ModelLoader), and ModelCache, which
// loads versions on demand, verifies the artifact's sha256, warms each model up
// with a prediction before handing it out, and keeps a bounded number loaded.
// Loaded models are shared (std::shared_ptr<const LoadedModel>): a version
// evicted or replaced stays alive until the last in-flight request lets go,
// so swapping never drops a request.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/xgboost/xgb_booster.h"

namespace mlops::gateway {

enum class InputType { kInt64, kDouble, kString, kBool, kTimestamp };
enum class OutputKind { kRegression, kBinaryProbability, kMulticlass };

struct SignatureInput {
  std::string name;
  InputType type = InputType::kDouble;
  bool nullable = false;
  bool allow_non_finite = false;
  std::string feature_ref;              // "view:feature"; empty = inline only
  std::vector<std::string> categories;  // kString only
};

struct ModelSignature {
  std::vector<SignatureInput> inputs;  // position i = model column i
  OutputKind output = OutputKind::kRegression;
  std::vector<std::string> class_labels;
  double decision_threshold = 0.5;
  int num_classes = 0;
  std::string entity_key;  // empty: inline features only
  InputType entity_key_type = InputType::kInt64;
};

struct ModelVersionInfo {
  std::string model;
  int64_t version = 0;
  std::string artifact_sha256;
  ModelSignature signature;
};

// Something that predicts a dense float matrix (NaN = missing). Thread-safe.
class Model {
 public:
  virtual ~Model() = default;
  virtual absl::StatusOr<xgb::Prediction> Predict(const float* values, std::size_t rows,
                                                  std::size_t cols) const = 0;
  virtual std::string runtime() const = 0;
  // Per-row TreeSHAP contributions (margin space, bias last). Unimplemented
  // for runtimes that cannot explain.
  virtual absl::StatusOr<xgb::Contributions> Explain(const float* values, std::size_t rows,
                                                     std::size_t cols) const;
};

// Turns artifact bytes into a Model. Thread-safe.
class ModelLoader {
 public:
  virtual ~ModelLoader() = default;
  virtual absl::StatusOr<std::unique_ptr<Model>> Load(const ModelVersionInfo& info,
                                                      std::string_view bytes) const = 0;
};

// XGBoost JSON artifacts through common/xgboost. With `flat_trees` (the
// default) predictions go through a FlatForest of the same trees when it
// accepts the model and gives XGBoost's floats bit for bit on a sample of
// random rows at load (runtime "xgboost-flat"); otherwise, and for
// explanations, through XGBoost's in-place prediction (runtime "xgboost").
class XgbModelLoader final : public ModelLoader {
 public:
  explicit XgbModelLoader(bool flat_trees = true) : flat_trees_(flat_trees) {}
  absl::StatusOr<std::unique_ptr<Model>> Load(const ModelVersionInfo& info,
                                              std::string_view bytes) const override;

 private:
  bool flat_trees_;
};

// Where versions and their artifacts come from (the registry). Thread-safe.
class ArtifactSource {
 public:
  virtual ~ArtifactSource() = default;
  virtual absl::StatusOr<ModelVersionInfo> GetVersion(const std::string& model,
                                                      int64_t version) = 0;
  // The artifact's bytes (not yet verified).
  virtual absl::StatusOr<std::string> GetArtifact(const ModelVersionInfo& info,
                                                  const std::string& endpoint) = 0;
};

struct LoadedModel {
  ModelVersionInfo info;
  std::unique_ptr<Model> model;
  int64_t loaded_at_micros = 0;
  // The signature's input names in order, shared by every logged prediction
  // (set by ModelCache; null when built elsewhere).
  std::shared_ptr<const std::vector<std::string>> input_names;
};

// One row of NaNs through the model: fails if the model does not take the
// signature's column count or returns the wrong number of outputs.
absl::Status WarmUp(const LoadedModel& loaded);

// Loads versions on demand and keeps at most `capacity` of them (least
// recently used evicted). Thread-safe; concurrent Gets of one version load it
// once (loads are serialized; they are rare).
class ModelCache {
 public:
  ModelCache(ArtifactSource* source, const ModelLoader* loader, std::size_t capacity,
             std::function<int64_t()> now_micros);

  // The loaded, warm version. NotFound / Unavailable from the source;
  // DataLoss when the bytes do not hash to the version's sha256;
  // FailedPrecondition when the model cannot be loaded or warmed up.
  absl::StatusOr<std::shared_ptr<const LoadedModel>> Get(const std::string& model,
                                                         int64_t version,
                                                         const std::string& endpoint);
  // The cached version or null, without loading.
  std::shared_ptr<const LoadedModel> Peek(const std::string& model, int64_t version) const;
  std::size_t size() const;

 private:
  using Key = std::pair<std::string, int64_t>;
  absl::StatusOr<std::shared_ptr<const LoadedModel>> LoadLocked(const std::string& model,
                                                                int64_t version,
                                                                const std::string& endpoint);

  ArtifactSource* const source_;
  const ModelLoader* const loader_;
  const std::size_t capacity_;
  const std::function<int64_t()> now_micros_;
  std::mutex load_mu_;  // one load at a time
  mutable std::mutex mu_;
  std::list<Key> lru_;  // front = most recent
  std::map<Key, std::pair<std::shared_ptr<const LoadedModel>, std::list<Key>::iterator>> models_;
};

}  // namespace mlops::gateway

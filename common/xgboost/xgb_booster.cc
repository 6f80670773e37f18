#include "common/xgboost/xgb_booster.h"

#include <cstdint>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "xgboost/c_api.h"

namespace mlops::xgb {
namespace {

absl::StatusOr<Prediction> CopyPrediction(const bst_ulong* shape, bst_ulong dim,
                                          const float* result) {
  Prediction prediction;
  if (dim == 0) return prediction;
  prediction.rows = shape[0];
  prediction.outputs = 1;
  for (bst_ulong d = 1; d < dim; ++d) prediction.outputs *= shape[d];
  prediction.values.assign(result, result + prediction.rows * prediction.outputs);
  return prediction;
}

// type 0 = transformed prediction; strict_shape false gives (rows) for one
// output and (rows, classes) for softprob.
constexpr char kPredictConfig[] =
    R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0,)"
    R"( "strict_shape": false, "cache_id": 0, "missing": NaN})";

// type 1 = margin, type 2 = TreeSHAP contributions; strict_shape gives
// (rows, groups) and (rows, groups, cols + 1) for every objective.
constexpr char kMarginConfig[] =
    R"({"type": 1, "training": false, "iteration_begin": 0, "iteration_end": 0,)"
    R"( "strict_shape": true, "cache_id": 0, "missing": NaN})";
constexpr char kContributionsConfig[] =
    R"({"type": 2, "training": false, "iteration_begin": 0, "iteration_end": 0,)"
    R"( "strict_shape": true})";

std::string DenseArrayInterface(const float* values, std::size_t rows, std::size_t cols) {
  return absl::StrCat(R"({"data": [)", reinterpret_cast<std::uintptr_t>(values),
                      R"(, true], "shape": [)", rows, ", ", cols,
                      R"(], "typestr": "<f4", "version": 3})");
}

// In-place prediction of a dense float matrix with `config`.
absl::StatusOr<Prediction> PredictDenseWith(BoosterHandle handle, const char* config,
                                            const float* values, std::size_t rows,
                                            std::size_t cols) {
  if (rows == 0) return Prediction{};
  const std::string array_interface = DenseArrayInterface(values, rows, cols);
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  if (XGBoosterPredictFromDense(handle, array_interface.c_str(), config, nullptr, &shape, &dim,
                                &result) != 0) {
    return LastError("XGBoosterPredictFromDense");
  }
  return CopyPrediction(shape, dim, result);
}

}  // namespace

absl::StatusOr<XgbBooster> XgbBooster::ForTraining(const std::vector<const XgbMatrix*>& cache,
                                                   const Params& params) {
  std::vector<DMatrixHandle> handles;
  for (const XgbMatrix* matrix : cache) handles.push_back(matrix->handle());
  BoosterHandle handle = nullptr;
  if (XGBoosterCreate(handles.data(), handles.size(), &handle) != 0) {
    return LastError("XGBoosterCreate");
  }
  XgbBooster booster(handle);
  for (const auto& [name, value] : params) {
    absl::Status status = booster.SetParam(name, value);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter \"", name, "\" = \"", value, "\": ", status.message()));
    }
  }
  return booster;
}

absl::StatusOr<XgbBooster> XgbBooster::Load(std::string_view model_bytes) {
  if (model_bytes.empty()) return absl::InvalidArgumentError("model bytes are empty");
  BoosterHandle handle = nullptr;
  if (XGBoosterCreate(nullptr, 0, &handle) != 0) return LastError("XGBoosterCreate");
  XgbBooster booster(handle);
  if (XGBoosterLoadModelFromBuffer(handle, model_bytes.data(), model_bytes.size()) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a loadable XGBoost model: ", XGBGetLastError()));
  }
  return booster;
}

XgbBooster::XgbBooster(XgbBooster&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)) {}

XgbBooster& XgbBooster::operator=(XgbBooster&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) XGBoosterFree(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

XgbBooster::~XgbBooster() {
  if (handle_ != nullptr) XGBoosterFree(handle_);
}

absl::Status XgbBooster::SetParam(const std::string& name, const std::string& value) {
  if (XGBoosterSetParam(handle_, name.c_str(), value.c_str()) != 0) {
    return LastError("XGBoosterSetParam");
  }
  return absl::OkStatus();
}

absl::Status XgbBooster::TrainOneRound(int iteration, const XgbMatrix& train) {
  if (XGBoosterUpdateOneIter(handle_, iteration, train.handle()) != 0) {
    return LastError("XGBoosterUpdateOneIter");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, double>> XgbBooster::Evaluate(
    int iteration, const std::vector<std::pair<std::string, const XgbMatrix*>>& sets) {
  std::vector<DMatrixHandle> handles;
  std::vector<const char*> names;
  for (const auto& [name, matrix] : sets) {
    handles.push_back(matrix->handle());
    names.push_back(name.c_str());
  }
  const char* line = nullptr;
  if (XGBoosterEvalOneIter(handle_, iteration, handles.data(), names.data(), handles.size(),
                           &line) != 0) {
    return LastError("XGBoosterEvalOneIter");
  }
  return ParseEvalLine(line);
}

absl::StatusOr<XgbBooster> XgbBooster::FirstRounds(int rounds) const {
  BoosterHandle sliced = nullptr;
  if (XGBoosterSlice(handle_, 0, rounds, 1, &sliced) != 0) return LastError("XGBoosterSlice");
  return XgbBooster(sliced);
}

absl::StatusOr<std::string> XgbBooster::SaveJson() const {
  bst_ulong length = 0;
  const char* data = nullptr;
  if (XGBoosterSaveModelToBuffer(handle_, R"({"format": "json"})", &length, &data) != 0) {
    return LastError("XGBoosterSaveModelToBuffer");
  }
  return std::string(data, length);
}

absl::StatusOr<int> XgbBooster::BoostedRounds() const {
  int rounds = 0;
  if (XGBoosterBoostedRounds(handle_, &rounds) != 0) return LastError("XGBoosterBoostedRounds");
  return rounds;
}

absl::StatusOr<std::size_t> XgbBooster::NumFeatures() const {
  bst_ulong features = 0;
  if (XGBoosterGetNumFeature(handle_, &features) != 0) {
    return LastError("XGBoosterGetNumFeature");
  }
  return static_cast<std::size_t>(features);
}

absl::StatusOr<Prediction> XgbBooster::PredictDense(const float* values, std::size_t rows,
                                                    std::size_t cols) const {
  return PredictDenseWith(handle_, kPredictConfig, values, rows, cols);
}

absl::StatusOr<Prediction> XgbBooster::Predict(const XgbMatrix& matrix) const {
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  if (XGBoosterPredictFromDMatrix(handle_, matrix.handle(), kPredictConfig, &shape, &dim,
                                  &result) != 0) {
    return LastError("XGBoosterPredictFromDMatrix");
  }
  return CopyPrediction(shape, dim, result);
}

absl::StatusOr<Prediction> XgbBooster::PredictMarginDense(const float* values, std::size_t rows,
                                                          std::size_t cols) const {
  return PredictDenseWith(handle_, kMarginConfig, values, rows, cols);
}

absl::StatusOr<Contributions> XgbBooster::PredictContributions(const float* values,
                                                               std::size_t rows,
                                                               std::size_t cols) const {
  Contributions out;
  out.cols = cols;
  if (rows == 0) return out;
  absl::StatusOr<XgbMatrix> matrix = XgbMatrix::FromDense(values, rows, cols);
  if (!matrix.ok()) return matrix.status();
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  if (XGBoosterPredictFromDMatrix(handle_, matrix->handle(), kContributionsConfig, &shape, &dim,
                                  &result) != 0) {
    return LastError("XGBoosterPredictFromDMatrix");
  }
  if (dim != 3 || shape[0] != rows || shape[2] != cols + 1) {
    return absl::InternalError(absl::StrCat("xgboost contributions: unexpected shape (dim ", dim,
                                            ") for ", rows, " rows of ", cols, " columns"));
  }
  out.rows = rows;
  out.outputs = shape[1];
  out.values.assign(result, result + rows * out.outputs * (cols + 1));
  return out;
}

absl::StatusOr<std::map<std::string, double>> ParseEvalLine(std::string_view line) {
  const std::string text(line);
  std::map<std::string, double> metrics;
  for (absl::string_view field : absl::StrSplit(text, '\t', absl::SkipEmpty())) {
    if (field.front() == '[') continue;  // "[iteration]"
    const std::size_t colon = field.rfind(':');
    double value = 0;
    if (colon == absl::string_view::npos || !absl::SimpleAtod(field.substr(colon + 1), &value)) {
      return absl::InternalError(absl::StrCat("unexpected XGBoost eval output: ", text));
    }
    metrics[std::string(field.substr(0, colon))] = value;
  }
  return metrics;
}

}  // namespace mlops::xgb

#include "common/xgboost/xgb_matrix.h"

#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "xgboost/c_api.h"

namespace mlops::xgb {

absl::Status LastError(const char* call) {
  return absl::InternalError(absl::StrCat("xgboost ", call, ": ", XGBGetLastError()));
}

absl::StatusOr<XgbMatrix> XgbMatrix::FromDense(const std::vector<float>& values,
                                               std::size_t rows, std::size_t cols) {
  if (rows == 0 || cols == 0) {
    return absl::InvalidArgumentError("a matrix needs at least one row and one column");
  }
  if (values.size() != rows * cols) {
    return absl::InvalidArgumentError(absl::StrCat("matrix of ", rows, " x ", cols, " needs ",
                                                   rows * cols, " values, got ",
                                                   values.size()));
  }
  return FromDense(values.data(), rows, cols);
}

absl::StatusOr<XgbMatrix> XgbMatrix::FromDense(const float* values, std::size_t rows,
                                               std::size_t cols) {
  if (rows == 0 || cols == 0) {
    return absl::InvalidArgumentError("a matrix needs at least one row and one column");
  }
  DMatrixHandle handle = nullptr;
  if (XGDMatrixCreateFromMat(values, rows, cols,
                             std::numeric_limits<float>::quiet_NaN(), &handle) != 0) {
    return LastError("XGDMatrixCreateFromMat");
  }
  return XgbMatrix(handle, rows, cols);
}

XgbMatrix::XgbMatrix(XgbMatrix&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), rows_(other.rows_), cols_(other.cols_) {}

XgbMatrix& XgbMatrix::operator=(XgbMatrix&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) XGDMatrixFree(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    rows_ = other.rows_;
    cols_ = other.cols_;
  }
  return *this;
}

XgbMatrix::~XgbMatrix() {
  if (handle_ != nullptr) XGDMatrixFree(handle_);
}

absl::Status XgbMatrix::SetLabels(const std::vector<float>& labels) {
  if (labels.size() != rows_) {
    return absl::InvalidArgumentError(
        absl::StrCat("got ", labels.size(), " labels for ", rows_, " rows"));
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (!std::isfinite(labels[i])) {
      return absl::InvalidArgumentError(absl::StrCat("row ", i, ": label is not a finite number"));
    }
  }
  if (XGDMatrixSetFloatInfo(handle_, "label", labels.data(), labels.size()) != 0) {
    return LastError("XGDMatrixSetFloatInfo(label)");
  }
  return absl::OkStatus();
}

}  // namespace mlops::xgb

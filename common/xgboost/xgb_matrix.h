#pragma once
// An XGBoost DMatrix built from a dense, row-major float matrix (NaN = missing),
// with optional labels and weights. Owns the handle; movable, not copyable.
// Not thread-safe for mutation; XGBoost may read it from several threads.

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"

namespace mlops::xgb {

// The message of XGBoost's last error on this thread, as an absl::Status.
absl::Status LastError(const char* call);

class XgbMatrix {
 public:
  // `values` holds rows * cols floats, row after row. XGBoost copies them.
  static absl::StatusOr<XgbMatrix> FromDense(const std::vector<float>& values,
                                             std::size_t rows, std::size_t cols);
  // The same from `rows * cols` floats at `values` (copied by XGBoost).
  static absl::StatusOr<XgbMatrix> FromDense(const float* values, std::size_t rows,
                                             std::size_t cols);

  XgbMatrix(XgbMatrix&&) noexcept;
  XgbMatrix& operator=(XgbMatrix&&) noexcept;
  XgbMatrix(const XgbMatrix&) = delete;
  XgbMatrix& operator=(const XgbMatrix&) = delete;
  ~XgbMatrix();

  // One label per row (class index for multi-class, 0/1 for binary).
  absl::Status SetLabels(const std::vector<float>& labels);

  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  void* handle() const { return handle_; }

 private:
  XgbMatrix(void* handle, std::size_t rows, std::size_t cols)
      : handle_(handle), rows_(rows), cols_(cols) {}
  void* handle_ = nullptr;
  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
};

}  // namespace mlops::xgb

#pragma once
// InlineData rows (by column name) as the float matrix a model expects: one
// column per signature input, in signature order, with the signature's
// conversions (BOOL 0/1, TIMESTAMP micros, STRING as its category index,
// NULL / unknown category / NaN as missing). Pure functions; thread-safe.

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/registry/v1/registry.pb.h"

namespace mlops::registry {

struct FeatureMatrix {
  std::vector<float> values;  // rows * cols, row after row
  std::size_t rows = 0;
  std::size_t cols = 0;
};

// InvalidArgument naming `field`, the row and the input for a missing input
// column, a value of the wrong type, or NULL in a non-nullable input.
absl::StatusOr<FeatureMatrix> BuildFeatureMatrix(const v1::ModelSignature& signature,
                                                 const v1::InlineData& data,
                                                 const std::string& field);

// A column's values as text (group names; NULL is "(null)").
absl::StatusOr<std::vector<std::string>> ColumnAsText(const v1::InlineData& data,
                                                      const std::string& column,
                                                      const std::string& field);
// A column's values as numbers (labels: BOOL 0/1, INT64, DOUBLE); no NULLs.
absl::StatusOr<std::vector<double>> ColumnAsNumber(const v1::InlineData& data,
                                                   const std::string& column,
                                                   const std::string& field);

}  // namespace mlops::registry

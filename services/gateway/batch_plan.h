#pragma once
// The pure decisions of a batch scoring job: which input columns are read and
// feed the model (by the signature's input names), which are copied to the
// output, the output dataset's schema, and the conversion of read rows to
// model inputs and of model outputs to output rows. Thread-safe (pure).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/common/v1/common.pb.h"
#include "services/gateway/batch_job.h"
#include "services/gateway/model_runtime.h"
#include "services/gateway/names.h"

namespace mlops::gateway {

struct BatchPlan {
  // The projection read from the input version (each column once).
  std::vector<std::string> read_columns;
  // Per signature input, its position in read_columns.
  std::vector<int> input_index;
  // Per passthrough column, its position in read_columns.
  std::vector<int> passthrough_index;
  // Passthrough columns (as in the input), then the output columns.
  common::v1::Schema output_schema;
};

// Plans a job over an input of schema `input`. FailedPrecondition naming the
// column when the input lacks a signature input or its type cannot feed it;
// InvalidArgument for a passthrough column not in the input, a bad prefix, or
// output columns clashing with passthrough ones. Passthrough defaults to the
// input's entity key and event timestamp columns.
absl::StatusOr<BatchPlan> PlanBatch(const ModelSignature& signature,
                                    const common::v1::Schema& input, const BatchJobSpec& spec);

// FailedPrecondition when an existing output dataset's columns (names, types,
// order) differ from the plan's.
absl::Status CheckOutputSchema(const std::string& dataset, const common::v1::Schema& existing,
                               const common::v1::Schema& wanted);

// Appends the model inputs of one read row to `values` (signature order).
// InvalidArgument naming the row (0-based in the input version) and column.
absl::Status AppendModelInputs(const ModelSignature& signature, const BatchPlan& plan,
                               const common::v1::Row& read, int64_t row,
                               std::vector<float>* values);

// The output row of one scored row: passthrough values, then the score,
// the label (classification) and the class probabilities (multiclass),
// exactly as Predict reports them.
common::v1::Row OutputRow(const ModelSignature& signature, const BatchPlan& plan,
                          const common::v1::Row& read, const float* outputs,
                          std::size_t output_count);

}  // namespace mlops::gateway

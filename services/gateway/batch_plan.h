#pragma once
// The pure decisions of a batch scoring job: which input columns are read and
// feed the model (by the signature's input names), which inputs are fetched
// point-in-time from the feature service (POINT_IN_TIME: by feature_ref, as of
// each row's event time), which columns are copied to the output, the output
// dataset's schema, and the conversion of read rows to model inputs and of
// model outputs to output rows. Thread-safe (pure).

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

inline constexpr int kFeatureSourceInputColumns = 1;  // inference.v1.BatchFeatureSource
inline constexpr int kFeatureSourcePointInTime = 2;

struct BatchPlan {
  // The projection read from the input version (each column once).
  std::vector<std::string> read_columns;
  // Per signature input, its position in a read row: in read_columns, or
  // (fetched) read_columns.size() + its ref's index in feature_refs.
  std::vector<int> input_index;
  // Per signature input: fetched from the feature service (NULL and NaN
  // reach the model as missing, as in Predict's entity-key lookups).
  std::vector<bool> fetched;
  // POINT_IN_TIME only: the refs fetched (each once, signature order), the
  // first model input naming each, and the input's entity key and event
  // timestamp columns the lookup joins on (both in read_columns).
  std::vector<std::string> feature_refs;
  std::vector<std::string> ref_inputs;
  std::string entity_key_column;
  std::string timestamp_column;
  // Per passthrough column, its position in read_columns.
  std::vector<int> passthrough_index;
  // Passthrough columns (as in the input), then the output columns.
  common::v1::Schema output_schema;
};

// Plans a job over an input of schema `input`. FailedPrecondition naming the
// column when the input lacks a signature input (POINT_IN_TIME: one without
// a feature_ref) or its type cannot feed it, and for POINT_IN_TIME without
// an event timestamp or entity key column; InvalidArgument for a passthrough
// column not in the input, a bad prefix, or output columns clashing with
// passthrough ones. Passthrough defaults to the input's entity key and event
// timestamp columns. POINT_IN_TIME uses the inputs present as columns as
// given and fetches the others.
absl::StatusOr<BatchPlan> PlanBatch(const ModelSignature& signature,
                                    const common::v1::Schema& input, const BatchJobSpec& spec);

// FailedPrecondition naming the model input and ref when a fetched feature's
// type (`types[k]` for plan.feature_refs[k]) cannot feed its input.
absl::Status CheckFetchedTypes(const ModelSignature& signature, const BatchPlan& plan,
                               const std::vector<common::v1::DataType>& types);

// FailedPrecondition when an existing output dataset's columns (names, types,
// order) differ from the plan's.
absl::Status CheckOutputSchema(const std::string& dataset, const common::v1::Schema& existing,
                               const common::v1::Schema& wanted);

// Appends the model inputs of one read row (read_columns, then the fetched
// features) to `values` (signature order).
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

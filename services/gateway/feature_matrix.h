#pragma once
// Builds a model's dense float input matrix from a PredictRequest's rows:
// inline values by name (PredictRequest.feature_names), the rest from the
// feature service's answer for the row's entity key. Checks every value
// against the signature (type, NULL, NaN/inf) and names the row and feature
// in its InvalidArgument messages. Pure functions; thread-safe.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/features/v1/features.pb.h"
#include "mlops/inference/v1/inference.pb.h"
#include "services/gateway/model_runtime.h"

namespace mlops::gateway {

// feature_names -> position in each row's `features`. InvalidArgument for a
// name that is not an input of `signature`, a name given twice, or a row
// whose value count differs.
absl::StatusOr<std::map<std::string, int>> IndexInlineFeatures(
    const ModelSignature& signature, const inference::v1::PredictRequest& request);

// The feature refs a signature needs fetched: inputs not given inline that
// have a feature_ref.
std::vector<std::string> RefsToFetch(const ModelSignature& signature,
                                     const std::map<std::string, int>& inline_index);

// The feature service's answer, indexed: ref -> column; request row -> its
// row in the answer (-1 when not looked up).
struct FetchedFeatures {
  const features::v1::GetOnlineFeaturesResponse* response = nullptr;
  std::map<std::string, int> column_of_ref;
  std::vector<int> answer_row;
};

struct FeatureMatrix {
  std::size_t cols = 0;
  std::vector<float> values;                        // rows x cols, NaN = missing
  std::vector<common::v1::Row> inputs;              // per row, in signature order (logging)
  std::vector<std::vector<std::string>> missing;    // per row: fetched inputs that were missing
  std::vector<bool> entity_found;                   // per row
};

// The matrix of the request rows `rows` (indexes into request.rows()).
absl::StatusOr<FeatureMatrix> BuildFeatureMatrix(const ModelSignature& signature,
                                                 const inference::v1::PredictRequest& request,
                                                 const std::vector<int>& rows,
                                                 const std::map<std::string, int>& inline_index,
                                                 const FetchedFeatures& fetched);

// One inline value as the model sees it (NaN = missing). InvalidArgument
// naming the row and the input for a wrong type, a NULL or a NaN/inf the
// signature forbids; an unknown category is missing.
absl::StatusOr<float> InputToFloat(const SignatureInput& input, const common::v1::Value& value,
                                   int64_t row);

// The entity key as text (for sticky hashing); InvalidArgument naming the row
// when its type differs from the signature's entity key or it is NULL.
absl::StatusOr<std::string> EntityKeyText(const ModelSignature& signature,
                                          const common::v1::Value& key, int row);

}  // namespace mlops::gateway

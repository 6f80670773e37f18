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

// Per input of a signature (signature order): its position in the request's
// feature_names (and so in each row's `features`), or -1 when not inline.
using InlinePositions = std::vector<int>;

// The positions of `signature`'s inputs in request.feature_names, checking
// the request: InvalidArgument for a name that is not an input of
// `signature`, a name given twice, or a row whose value count differs. Names
// in signature order (the usual request) cost one comparison each.
absl::StatusOr<InlinePositions> IndexInlineFeatures(const ModelSignature& signature,
                                                    const inference::v1::PredictRequest& request);

// The positions of `signature`'s inputs in request.feature_names without the
// checks (another variant's signature, after IndexInlineFeatures passed).
InlinePositions PositionsOf(const ModelSignature& signature,
                            const inference::v1::PredictRequest& request);

// The feature refs a signature needs fetched: inputs not given inline that
// have a feature_ref.
std::vector<std::string> RefsToFetch(const ModelSignature& signature,
                                     const InlinePositions& positions);

// The feature service's answer, indexed: ref -> column; request row -> its
// row in the answer (-1 when not looked up).
struct FetchedFeatures {
  const features::v1::GetOnlineFeaturesResponse* response = nullptr;
  std::map<std::string, int> column_of_ref;
  std::vector<int> answer_row;
};

struct FeatureMatrix {
  std::size_t cols = 0;
  std::vector<float> values;  // rows x cols, NaN = missing
  // rows x cols: the value each input had (logging, explanations), pointing
  // into the request or the feature service's answer (or at the NULL value):
  // valid while both live. Not copied, so a row costs no allocation.
  std::vector<const common::v1::Value*> inputs;
  std::vector<std::vector<std::string>> missing;  // per row: fetched inputs that were missing
  std::vector<bool> entity_found;                 // per row

  // Row `row`'s inputs as a Row message (a copy).
  common::v1::Row InputRow(std::size_t row) const;
};

// The matrix of the request rows `rows` (indexes into request.rows()).
// `positions`: PositionsOf(signature, request) (or IndexInlineFeatures').
absl::StatusOr<FeatureMatrix> BuildFeatureMatrix(const ModelSignature& signature,
                                                 const inference::v1::PredictRequest& request,
                                                 const std::vector<int>& rows,
                                                 const InlinePositions& positions,
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

#pragma once
// Conversions between the features proto (mlops.features.v1 / common.v1) and
// the domain types: data types, values, schemas, and feature view specs
// (validated, defaults filled in, fingerprinted). Pure functions.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/common/v1/common.pb.h"
#include "mlops/features/v1/features.pb.h"
#include "services/features/feature_view.h"
#include "services/features/types.h"

namespace mlops::features {

namespace cv1 = ::mlops::common::v1;
namespace fv1 = ::mlops::features::v1;

// Valid times: [0001-01-01, 9999-12-31T23:59:59.999999] UTC.
inline constexpr int64_t kMinTimeMicros = -62135596800000000;
inline constexpr int64_t kMaxTimeMicros = 253402300799999999;
inline bool TimeInRange(int64_t t) { return t >= kMinTimeMicros && t <= kMaxTimeMicros; }
// Longest window the proto accepts: 3650 days.
inline constexpr int64_t kMaxWindowMicros = int64_t{3650} * 86400 * 1000000;

absl::StatusOr<DataType> DataTypeFromProto(cv1::DataType type);
cv1::DataType DataTypeToProto(DataType type);

// The schema of an ingestion dataset as the domain sees it.
absl::StatusOr<SourceSchema> SourceSchemaFromProto(const cv1::Schema& schema);

// A domain value (monostate = NULL) as a proto value (unset = NULL), and back.
void ValueToProto(const Value& value, cv1::Value* out);
// `type` is the column's declared type: the proto value's kind must match it
// (INT64 into a DOUBLE column is accepted and converted). InvalidArgument
// naming `where` otherwise.
absl::StatusOr<Value> ValueFromProto(const cv1::Value& value, DataType type,
                                     const std::string& where);

// Appends `value` (of `column`'s type, or NULL) to a column.
void AppendToColumn(const Value& value, ColumnVector* column);

// Appends a proto value to a column of its type without a Value in between
// (INT64 into DOUBLE converts); false, with nothing appended, when the kind
// does not fit the column. The hot path of reading rows.
bool AppendProtoValue(const cv1::Value& value, ColumnVector* column);

// Row `row` of a feature column as a proto value (unset unless PRESENT).
void FeatureValueToProto(const FeatureColumn& column, size_t row, cv1::Value* out);

// A validated, filled-in registration. `definition` is what the domain
// evaluates (COUNT without a column counts the entity key column, which is
// never NULL: the number of events).
struct ResolvedSpec {
  fv1::FeatureViewSpec spec;  // defaults filled in (timestamp column, policy)
  FeatureViewDefinition definition;
  std::string definition_hash;
  cv1::Schema feature_schema;
  DataType entity_key_type = DataType::kInt64;
};

// Checks what needs no dataset (names, sizes, windows, kinds), then the
// columns and types against the dataset's schema. InvalidArgument naming the
// field otherwise.
absl::StatusOr<ResolvedSpec> ResolveSpec(const fv1::FeatureViewSpec& spec,
                                         const cv1::Schema& dataset_schema);

// The domain definition of a stored view (its spec was resolved before).
absl::StatusOr<FeatureViewDefinition> DefinitionFromView(const fv1::FeatureView& view);

}  // namespace mlops::features

#pragma once
// Conversion between the ingestion protos and the domain's plain structs
// (value.h, expectations.h, batch_validator.h, common/stats profiles). Pure
// functions; thread-safe.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/stats/column_profile.h"
#include "mlops/common/v1/common.pb.h"
#include "mlops/ingestion/v1/ingestion.pb.h"
#include "services/ingestion/batch_validator.h"
#include "services/ingestion/expectations.h"
#include "services/ingestion/value.h"

namespace mlops::ingestion {

Value ValueFromProto(const common::v1::Value& v);
void ValueToProto(const Value& v, common::v1::Value* out);
// Appends the rows (positional; an unset Value is NULL).
void RowsFromProto(const google::protobuf::RepeatedPtrField<common::v1::Row>& rows,
                   std::vector<Row>* out);

// Appends the rows (NULL as an unset Value).
void RowsToProto(const std::vector<Row>& rows,
                 google::protobuf::RepeatedPtrField<common::v1::Row>* out);

Schema SchemaFromProto(const common::v1::Schema& schema);
void SchemaToProto(const Schema& schema, common::v1::Schema* out);

// InvalidArgument naming `expectations[i]` for a malformed expectation.
// Scope SCOPE_UNSPECIFIED means SCOPE_BATCH for row_count / mean / stddev and
// SCOPE_VERSION for unique, as the contract says.
absl::Status SuiteFromProto(const google::protobuf::RepeatedPtrField<v1::Expectation>& in,
                            int64_t version, ExpectationSuite* out);

// The report; expectations are copied from `suite` by index.
void ReportToProto(const ValidationReport& report, const v1::ExpectationSuite& suite,
                   v1::ValidationReport* out);


}  // namespace mlops::ingestion

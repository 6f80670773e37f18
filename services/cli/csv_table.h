#pragma once
// CSV files for commands that send or receive rows (`features export`,
// `predict --csv`): read a header + rows into typed proto values, inferring
// each column's type, and write typed rows back as CSV. Pure functions.
//
// Type inference per column over its non-empty fields: all int64 -> INT64;
// all numbers -> DOUBLE; all true/false -> BOOL; all RFC 3339 times ->
// TIMESTAMP; otherwise STRING. An empty unquoted field is NULL. `forced`
// fixes a column's type (e.g. an entity key that must be STRING); a field
// that does not parse as the forced type is an error naming row and column.

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/common/v1/common.pb.h"

namespace mlops::cli {

struct TypedCsv {
  common::v1::Schema schema;  // names from the header, inferred types, nullable
  std::vector<common::v1::Row> rows;
};

// Parses RFC 4180 text with a header line. Errors are InvalidArgument
// "<source> line:column: ..." or "<source> row N, column \"c\": ...".
absl::StatusOr<TypedCsv> ParseTypedCsv(const std::string& text, const std::string& source,
                                       const std::map<std::string, common::v1::DataType>& forced = {});

// One CSV field: NULL -> empty; timestamps RFC 3339; doubles round-trip
// (%.17g); quoted when it holds a comma, quote, CR or LF, or is an empty
// string (so that it stays distinct from NULL).
std::string CsvField(const common::v1::Value& value);

// The header line and every row, LF-terminated.
void WriteCsv(const common::v1::Schema& schema, const std::vector<common::v1::Row>& rows,
              std::ostream& out);
void WriteCsvRows(const std::vector<common::v1::Row>& rows, std::ostream& out);

}  // namespace mlops::cli

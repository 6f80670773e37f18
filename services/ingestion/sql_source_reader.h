#pragma once
// Reads the new rows of a Postgres query source: connects to the source's
// DSN, and in one read-only REPEATABLE READ transaction with the statement
// timeout runs
//   SELECT <dataset columns, converted> FROM (<query>) AS src
//   WHERE src.<wm> > <from>                       -- unless there is no watermark yet
//     AND src.<wm> <= (the largest <wm> among the first max_rows new rows)
//   ORDER BY src.<wm>
// through a cursor, handing rows to the caller in chunks (so memory is
// bounded by one chunk). The upper bound makes a pull take a whole run of
// equal watermark values even when max_rows cuts inside it.
// Result columns are mapped to the dataset's columns by name; extra columns
// are ignored; each type must convert exactly (see SqlColumnExpression).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/ingestion/value.h"

namespace mlops::ingestion {

struct SqlPullSpec {
  std::string dsn;
  std::string query;
  std::string watermark_column;          // a column of `schema`, INT64 or TIMESTAMP
  std::optional<int64_t> watermark_from;  // exclusive; nullopt = from the beginning
  int64_t max_rows = 1'000'000;
  absl::Duration statement_timeout = absl::Minutes(5);
  int chunk_rows = 4096;
};

struct SqlPullStats {
  int64_t rows = 0;
  std::optional<int64_t> watermark_to;  // the largest watermark read (nullopt: no rows)
};

// The select-list expression that converts result column `quoted_column` of
// PostgreSQL type `type_oid` to `type` exactly (integers to INT64; float4/8
// and int2/4 to DOUBLE; text/varchar/char/name to STRING; bool; timestamp and
// timestamptz to TIMESTAMP micros, timestamp read as UTC), or
// InvalidArgument naming the column when there is no exact conversion.
absl::StatusOr<std::string> SqlColumnExpression(const std::string& column, DataType type,
                                                uint32_t type_oid);

// The pull's SQL given the select list (pure; tested).
std::string BuildPullQuery(const std::string& query, const std::string& select_list,
                           const std::string& watermark_column, bool watermark_is_timestamp_tz,
                           bool watermark_is_timestamp, std::optional<int64_t> watermark_from,
                           int64_t max_rows);

// Runs the pull; calls on_rows with each chunk (rows in schema order, text
// already parsed). Errors: InvalidArgument naming the column (missing from
// the result, type without exact conversion), the row and column (NULL
// watermark, a value that does not parse); what connecting or the query
// gives (Unavailable, DeadlineExceeded, InvalidArgument for SQL errors...);
// whatever on_rows returns.
absl::StatusOr<SqlPullStats> ReadSqlSource(
    const SqlPullSpec& spec, const Schema& schema,
    const std::function<absl::Status(std::vector<Row>& rows, int64_t first_row)>& on_rows);

}  // namespace mlops::ingestion

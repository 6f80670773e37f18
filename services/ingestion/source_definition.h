#pragma once
// Checks and defaults of a source definition (v1.Source), and DSN redaction.
// Pure functions over the proto and the dataset's schema; thread-safe.
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "mlops/ingestion/v1/ingestion.pb.h"
#include "services/ingestion/value.h"

namespace mlops::ingestion {

inline constexpr int64_t kDefaultMaxRowsPerPull = 1'000'000;
inline constexpr absl::Duration kDefaultStatementTimeout = absl::Minutes(5);
inline constexpr absl::Duration kDefaultMinFileAge = absl::Seconds(5);
inline constexpr size_t kMaxQueryBytes = 64 << 10;

// The input fields of `source` against the dataset's schema (the name and
// dataset name are checked by the caller). InvalidArgument naming the field,
// e.g. `source.postgres_query.watermark_column "amount": type DOUBLE, must be
// INT64 or TIMESTAMP`. Does not connect or look at the file system.
absl::Status ValidateSourceDefinition(const v1::Source& source, const Schema& schema);

// The DSN with its password replaced by "***" (URI user:password@ and the
// key=value `password`), for reading back.
std::string RedactDsn(const std::string& dsn);

// Defaults applied.
int64_t MaxRowsPerPull(const v1::PostgresQuerySource& q);
absl::Duration StatementTimeout(const v1::PostgresQuerySource& q);
std::string CsvGlob(const v1::CsvFolderSource& c);
char CsvDelimiter(const v1::CsvFolderSource& c);
absl::Duration MinFileAge(const v1::CsvFolderSource& c);

}  // namespace mlops::ingestion

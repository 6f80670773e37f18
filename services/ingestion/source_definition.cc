#include "services/ingestion/source_definition.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/db/pg_conninfo.h"
#include "common/status/status_macros.h"
#include "services/ingestion/names.h"

namespace mlops::ingestion {
namespace {

constexpr int64_t kMinIntervalMicros = 1'000'000;

absl::Status Invalid(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("source.", field, ": ", what));
}

bool IsEnvVarName(const std::string& s) {
  if (s.empty() || s.size() > 255 || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

absl::Status ValidatePostgres(const v1::PostgresQuerySource& q, const Schema& schema) {
  switch (q.connection_case()) {
    case v1::PostgresQuerySource::kDsn:
      if (q.dsn().empty()) return Invalid("postgres_query.dsn", "must not be empty");
      if (!RewriteConninfo(q.dsn(), {}).ok()) {
        return Invalid("postgres_query.dsn", "libpq cannot parse it");
      }
      break;
    case v1::PostgresQuerySource::kDsnEnvVar:
      if (!IsEnvVarName(q.dsn_env_var())) {
        return Invalid("postgres_query.dsn_env_var", "must be an environment variable name");
      }
      break;
    default:
      return Invalid("postgres_query.dsn", "one of dsn, dsn_env_var is required");
  }
  const std::string query(absl::StripAsciiWhitespace(q.query()));
  if (query.empty()) return Invalid("postgres_query.query", "must not be empty");
  if (q.query().size() > kMaxQueryBytes) {
    return Invalid("postgres_query.query", absl::StrCat("at most ", kMaxQueryBytes, " bytes"));
  }
  if (absl::EndsWith(query, ";")) {
    return Invalid("postgres_query.query", "must not end with a semicolon");
  }
  const std::string head = absl::AsciiStrToLower(query.substr(0, 6));  // std::string
  if (!absl::StartsWith(head, "select") && !absl::StartsWith(head, "with") &&
      !absl::StartsWith(head, "values") && !absl::StartsWith(head, "table")) {
    return Invalid("postgres_query.query", "must be a single SELECT statement");
  }
  const std::string& wm = q.watermark_column();
  if (wm.empty()) return Invalid("postgres_query.watermark_column", "must not be empty");
  MLOPS_RETURN_IF_ERROR(ValidateName("source.postgres_query.watermark_column", wm));
  const int index = schema.IndexOf(wm);
  if (index < 0) {
    return Invalid("postgres_query.watermark_column",
                   absl::StrCat("\"", wm, "\": not a column of the dataset"));
  }
  const DataType type = schema.columns[index].type;
  if (type != DataType::kInt64 && type != DataType::kTimestamp) {
    return Invalid("postgres_query.watermark_column",
                   absl::StrCat("\"", wm, "\": must be an INT64 or TIMESTAMP column"));
  }
  const auto kind = q.initial_watermark().kind_case();
  if (q.has_initial_watermark() && kind != common::v1::Value::KIND_NOT_SET) {
    const bool ok = type == DataType::kInt64 ? kind == common::v1::Value::kInt64Value
                                             : kind == common::v1::Value::kTimestampMicros;
    if (!ok) {
      return Invalid("postgres_query.initial_watermark",
                     absl::StrCat("must be of the watermark column's type (",
                                  type == DataType::kInt64 ? "INT64" : "TIMESTAMP", ")"));
    }
  }
  if (q.max_rows_per_pull() < 0) return Invalid("postgres_query.max_rows_per_pull", "negative");
  if (q.statement_timeout_micros() < 0) {
    return Invalid("postgres_query.statement_timeout_micros", "negative");
  }
  return absl::OkStatus();
}

absl::Status ValidateCsv(const v1::CsvFolderSource& c) {
  if (c.path().empty() || c.path()[0] != '/') {
    return Invalid("csv_folder.path", "must be an absolute path");
  }
  if (c.glob().size() > 255 || c.glob().find('/') != std::string::npos) {
    return Invalid("csv_folder.glob", "a file name pattern without '/', at most 255 bytes");
  }
  const std::string& d = c.delimiter();
  if (d.size() > 1 || (d.size() == 1 && (static_cast<unsigned char>(d[0]) > 127 || d[0] == '"' ||
                                         d[0] == '\n' || d[0] == '\r'))) {
    return Invalid("csv_folder.delimiter", "one ASCII character other than a quote or line break");
  }
  if (c.min_file_age_micros() < 0) return Invalid("csv_folder.min_file_age_micros", "negative");
  if (c.null_text().size() > 64) return Invalid("csv_folder.null_text", "at most 64 bytes");
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSourceDefinition(const v1::Source& source, const Schema& schema) {
  if (source.mode() != v1::INGEST_MODE_UNSPECIFIED && source.mode() != v1::INGEST_MODE_APPEND &&
      source.mode() != v1::INGEST_MODE_REPLACE) {
    return Invalid("mode", "must be APPEND or REPLACE");
  }
  if (source.interval_micros() < 0 ||
      (source.interval_micros() > 0 && source.interval_micros() < kMinIntervalMicros)) {
    return Invalid("interval_micros", "must be 0 (on demand only) or at least 1 s");
  }
  switch (source.kind_case()) {
    case v1::Source::kPostgresQuery:
      return ValidatePostgres(source.postgres_query(), schema);
    case v1::Source::kCsvFolder:
      return ValidateCsv(source.csv_folder());
    default:
      return Invalid("kind", "exactly one of postgres_query, csv_folder must be set");
  }
}

std::string RedactDsn(const std::string& dsn) {
  std::string out = dsn;
  // URI: scheme://user:password@host...
  const size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const size_t start = scheme + 3;
    const size_t at = out.find('@', start);
    const size_t slash = out.find('/', start);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // key=value: password=secret or password='se cret' (also as a URI query
  // parameter: ?password=secret&...).
  size_t pos = 0;
  while ((pos = out.find("password", pos)) != std::string::npos) {
    size_t p = pos + 8;
    while (p < out.size() && out[p] == ' ') ++p;
    if (p >= out.size() || out[p] != '=') {
      pos = p;
      continue;
    }
    ++p;
    while (p < out.size() && out[p] == ' ') ++p;
    size_t end = p;
    if (end < out.size() && out[end] == '\'') {
      ++end;
      while (end < out.size() && out[end] != '\'') end += out[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, out.size());
    } else {
      while (end < out.size() && out[end] != ' ' && out[end] != '&') ++end;
    }
    out.replace(p, end - p, "***");
    pos = p + 3;
  }
  return out;
}

int64_t MaxRowsPerPull(const v1::PostgresQuerySource& q) {
  return q.max_rows_per_pull() > 0 ? q.max_rows_per_pull() : kDefaultMaxRowsPerPull;
}

absl::Duration StatementTimeout(const v1::PostgresQuerySource& q) {
  return q.statement_timeout_micros() > 0 ? absl::Microseconds(q.statement_timeout_micros())
                                          : kDefaultStatementTimeout;
}

std::string CsvGlob(const v1::CsvFolderSource& c) { return c.glob().empty() ? "*.csv" : c.glob(); }

char CsvDelimiter(const v1::CsvFolderSource& c) {
  return c.delimiter().empty() ? ',' : c.delimiter()[0];
}

absl::Duration MinFileAge(const v1::CsvFolderSource& c) {
  return c.min_file_age_micros() > 0 ? absl::Microseconds(c.min_file_age_micros())
                                     : kDefaultMinFileAge;
}

}  // namespace mlops::ingestion

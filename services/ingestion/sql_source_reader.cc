#include "services/ingestion/sql_source_reader.h"

#include <pqxx/pqxx>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/db/pg_pool.h"
#include "common/status/status_macros.h"
#include "services/ingestion/csv_fields.h"

namespace mlops::ingestion {
namespace {

// PostgreSQL type OIDs (pg_type.dat).
constexpr uint32_t kBool = 16, kName = 19, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25,
                   kFloat4 = 700, kFloat8 = 701, kBpchar = 1042, kVarchar = 1043,
                   kTimestamp = 1114, kTimestampTz = 1184;

std::string Quote(const std::string& name) { return absl::StrCat("\"", name, "\""); }

std::string TypeName(DataType type) {
  switch (type) {
    case DataType::kInt64: return "INT64";
    case DataType::kDouble: return "DOUBLE";
    case DataType::kString: return "STRING";
    case DataType::kBool: return "BOOL";
    case DataType::kTimestamp: return "TIMESTAMP";
    default: return "UNSPECIFIED";
  }
}

absl::StatusOr<Value> ParseResultField(DataType type, const pqxx::field& f) {
  if (f.is_null()) return Value();
  const std::string_view text(f.c_str(), f.size());
  switch (type) {
    case DataType::kString:
      return Value(std::string(text));
    case DataType::kBool:
      return Value(text == "t");
    case DataType::kTimestamp: {
      MLOPS_ASSIGN_OR_RETURN(int64_t micros, ParseInt64Field(text));
      return Value(Timestamp{micros});
    }
    default:
      return ParseTypedField(type, text, false);
  }
}

}  // namespace

absl::StatusOr<std::string> SqlColumnExpression(const std::string& column, DataType type,
                                                uint32_t oid) {
  const std::string c = absl::StrCat("src.", Quote(column));
  switch (type) {
    case DataType::kInt64:
      if (oid == kInt2 || oid == kInt4 || oid == kInt8) return absl::StrCat(c, "::int8");
      break;
    case DataType::kDouble:
      if (oid == kFloat4 || oid == kFloat8 || oid == kInt2 || oid == kInt4) {
        return absl::StrCat(c, "::float8");
      }
      break;
    case DataType::kString:
      if (oid == kText || oid == kVarchar || oid == kBpchar || oid == kName) {
        return absl::StrCat(c, "::text");
      }
      break;
    case DataType::kBool:
      if (oid == kBool) return c;
      break;
    case DataType::kTimestamp:
      // extract(epoch ...) is numeric (exact) since PostgreSQL 14; a
      // timestamp without time zone counts from 1970-01-01 00:00 as UTC.
      if (oid == kTimestamp || oid == kTimestampTz) {
        return absl::StrCat("(extract(epoch from ", c, ") * 1000000)::int8");
      }
      break;
    default:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("column \"", column, "\": the query's type (oid ", oid,
                   ") does not convert exactly to ", TypeName(type)));
}

std::string BuildPullQuery(const std::string& query, const std::string& select_list,
                           const std::string& watermark_column, bool watermark_is_timestamp_tz,
                           bool watermark_is_timestamp, std::optional<int64_t> from,
                           int64_t max_rows) {
  auto after = [&](const std::string& alias) -> std::string {
    if (!from.has_value()) return "TRUE";
    const std::string c = absl::StrCat(alias, ".", Quote(watermark_column));
    if (watermark_is_timestamp_tz) {
      return absl::StrCat(c, " > to_timestamp(0) + ", *from, " * interval '1 microsecond'");
    }
    if (watermark_is_timestamp) {
      return absl::StrCat(c, " > 'epoch'::timestamp + ", *from, " * interval '1 microsecond'");
    }
    return absl::StrCat(c, " > ", *from, "::int8");
  };
  const std::string wm = Quote(watermark_column);
  return absl::StrCat(
      "SELECT ", select_list, " FROM (", query, "\n) AS src WHERE ", after("src"), " AND src.", wm,
      " <= (SELECT max(lim.w) FROM (SELECT src2.", wm, " AS w FROM (", query, "\n) AS src2 WHERE ",
      after("src2"), " AND src2.", wm, " IS NOT NULL ORDER BY src2.", wm, " LIMIT ", max_rows,
      ") AS lim)",
      // Without a starting watermark NULLs are new rows too: they fail the pull.
      from.has_value() ? "" : absl::StrCat(" OR src.", wm, " IS NULL"), " ORDER BY src.", wm);
}

absl::StatusOr<SqlPullStats> ReadSqlSource(
    const SqlPullSpec& spec, const Schema& schema,
    const std::function<absl::Status(std::vector<Row>& rows, int64_t first_row)>& on_rows) {
  PgPoolOptions options;
  options.dsn = spec.dsn;
  options.size = 1;
  options.max_txn_attempts = 1;
  options.statement_timeout = spec.statement_timeout;
  options.application_name = "mlops-ingestion-source";
  MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<PgPool> pool, PgPool::Create(options));
  PgCallOptions call{"kSourcePull", PgIsolation::kRepeatableRead, true};
  call.statement_timeout = spec.statement_timeout;
  call.max_attempts = 1;
  const int wm_index = schema.IndexOf(spec.watermark_column);
  if (wm_index < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "watermark_column \"", spec.watermark_column, "\": not a column of the dataset"));
  }
  return pool->WithTransaction(call, [&](pqxx::transaction_base& tx)
                                         -> absl::StatusOr<SqlPullStats> {
    // The result's columns, without running the query.
    pqxx::result probe =
        tx.exec(absl::StrCat("SELECT * FROM (", spec.query, "\n) AS src LIMIT 0"));
    std::vector<std::string> names;
    std::vector<uint32_t> oids;
    for (pqxx::row::size_type i = 0; i < probe.columns(); ++i) {
      names.emplace_back(probe.column_name(i));
      oids.push_back(probe.column_type(i));
    }
    auto find = [&](const std::string& n) {
      for (size_t i = 0; i < names.size(); ++i) {
        if (names[i] == n) return static_cast<int>(i);
      }
      return -1;
    };
    const int wm_result = find(spec.watermark_column);
    if (wm_result < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("watermark_column \"", spec.watermark_column,
                       "\": not a column of the query result (it has: ",
                       absl::StrJoin(names, ", "), ")"));
    }
    std::vector<std::string> select;
    for (const Column& c : schema.columns) {
      const int i = find(c.name);
      if (i < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("column \"", c.name, "\": not a column of the query result (it has: ",
                         absl::StrJoin(names, ", "), ")"));
      }
      MLOPS_ASSIGN_OR_RETURN(std::string e, SqlColumnExpression(c.name, c.type, oids[i]));
      select.push_back(std::move(e));
    }
    const std::string sql = BuildPullQuery(
        spec.query, absl::StrJoin(select, ", "), spec.watermark_column,
        oids[wm_result] == kTimestampTz, oids[wm_result] == kTimestamp, spec.watermark_from,
        spec.max_rows);
    tx.exec(absl::StrCat("DECLARE mlops_source_pull NO SCROLL CURSOR FOR ", sql));
    SqlPullStats stats;
    const std::string fetch =
        absl::StrCat("FETCH FORWARD ", std::max(1, spec.chunk_rows), " FROM mlops_source_pull");
    std::vector<Row> rows;
    // Bounded: the cursor yields at most the rows up to the pull's upper
    // watermark, each fetch at least one row until it is exhausted.
    while (true) {
      pqxx::result r = tx.exec(fetch);
      if (r.empty()) break;
      rows.clear();
      rows.reserve(r.size());
      for (const pqxx::row& pr : r) {
        const int64_t index = stats.rows + static_cast<int64_t>(rows.size());
        Row row;
        row.reserve(schema.columns.size());
        for (size_t c = 0; c < schema.columns.size(); ++c) {
          absl::StatusOr<Value> v = ParseResultField(schema.columns[c].type, pr[static_cast<int>(c)]);
          if (!v.ok()) {
            return absl::InvalidArgumentError(absl::StrCat("row ", index, ", column \"",
                                                           schema.columns[c].name, "\": ",
                                                           v.status().message()));
          }
          row.push_back(*std::move(v));
        }
        const Value& w = row[wm_index];
        if (IsNull(w)) {
          return absl::InvalidArgumentError(absl::StrCat(
              "row ", index, ", column \"", spec.watermark_column, "\": NULL watermark"));
        }
        stats.watermark_to = std::holds_alternative<Timestamp>(w) ? std::get<Timestamp>(w).micros
                                                                   : std::get<int64_t>(w);
        rows.push_back(std::move(row));
      }
      MLOPS_RETURN_IF_ERROR(on_rows(rows, stats.rows));
      stats.rows += static_cast<int64_t>(rows.size());
    }
    return stats;
  });
}

}  // namespace mlops::ingestion

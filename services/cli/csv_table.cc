#include "services/cli/csv_table.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/ingestion/csv.h"
#include "services/ingestion/csv_fields.h"
#include "services/ingestion/timestamp.h"

namespace mlops::cli {
namespace {

namespace cv1 = ::mlops::common::v1;

// The fields of the first record (the header), quotes removed.
absl::StatusOr<std::vector<std::string>> HeaderNames(const std::string& text,
                                                     const std::string& source) {
  std::vector<std::string> names(1);
  bool quoted = false;
  std::size_t i = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        names.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        names.back().push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      names.emplace_back();
    } else if (c == '\n' || c == '\r') {
      break;
    } else {
      names.back().push_back(c);
    }
  }
  if (names.size() == 1 && names[0].empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": empty file; expected a header line"));
  }
  return names;
}

cv1::DataType InferType(const std::vector<ingestion::Row>& rows, std::size_t column) {
  bool all_int = true, all_number = true, all_bool = true, all_time = true, any = false;
  for (const ingestion::Row& row : rows) {
    if (ingestion::IsNull(row[column])) continue;
    const std::string& text = std::get<std::string>(row[column]);
    any = true;
    all_int = all_int && ingestion::ParseInt64Field(text).ok();
    all_number = all_number && ingestion::ParseDoubleField(text).ok();
    const std::string lower = absl::AsciiStrToLower(text);
    all_bool = all_bool && (lower == "true" || lower == "false");
    all_time = all_time && ingestion::ParseRfc3339Micros(text).ok();
    if (!all_int && !all_number && !all_bool && !all_time) break;
  }
  if (!any) return cv1::DATA_TYPE_STRING;
  if (all_int) return cv1::DATA_TYPE_INT64;
  if (all_number) return cv1::DATA_TYPE_DOUBLE;
  if (all_bool) return cv1::DATA_TYPE_BOOL;
  if (all_time) return cv1::DATA_TYPE_TIMESTAMP;
  return cv1::DATA_TYPE_STRING;
}

absl::Status Convert(const std::string& text, cv1::DataType type, cv1::Value* out) {
  switch (type) {
    case cv1::DATA_TYPE_INT64: {
      auto v = ingestion::ParseInt64Field(text);
      if (!v.ok()) return v.status();
      out->set_int64_value(*v);
      return absl::OkStatus();
    }
    case cv1::DATA_TYPE_DOUBLE: {
      auto v = ingestion::ParseDoubleField(text);
      if (!v.ok()) return v.status();
      out->set_double_value(*v);
      return absl::OkStatus();
    }
    case cv1::DATA_TYPE_BOOL: {
      auto v = ingestion::ParseBoolField(text);
      if (!v.ok()) return v.status();
      out->set_bool_value(*v);
      return absl::OkStatus();
    }
    case cv1::DATA_TYPE_TIMESTAMP: {
      auto v = ingestion::ParseRfc3339Micros(text);
      if (!v.ok()) return v.status();
      out->set_timestamp_micros(*v);
      return absl::OkStatus();
    }
    default:
      out->set_string_value(text);
      return absl::OkStatus();
  }
}

}  // namespace

absl::StatusOr<TypedCsv> ParseTypedCsv(const std::string& text, const std::string& source,
                                       const std::map<std::string, cv1::DataType>& forced) {
  auto names = HeaderNames(text, source);
  if (!names.ok()) return names.status();
  ingestion::Schema strings;
  for (const std::string& name : *names) {
    strings.columns.push_back(ingestion::MakeColumn(name, ingestion::DataType::kString, true));
  }
  auto rows = ingestion::ParseCsv(strings, text);
  if (!rows.ok()) return absl::InvalidArgumentError(absl::StrCat(source, " ", rows.status().message()));
  TypedCsv out;
  for (std::size_t c = 0; c < names->size(); ++c) {
    cv1::Column* column = out.schema.add_columns();
    column->set_name((*names)[c]);
    column->set_nullable(true);
    auto it = forced.find((*names)[c]);
    column->set_type(it != forced.end() ? it->second : InferType(*rows, c));
  }
  out.rows.reserve(rows->size());
  for (std::size_t r = 0; r < rows->size(); ++r) {
    cv1::Row& row = out.rows.emplace_back();
    for (std::size_t c = 0; c < names->size(); ++c) {
      cv1::Value* value = row.add_values();
      if (ingestion::IsNull((*rows)[r][c])) continue;
      const cv1::Column& column = out.schema.columns(static_cast<int>(c));
      if (absl::Status s = Convert(std::get<std::string>((*rows)[r][c]), column.type(), value); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(source, " row ", r + 1, ", column \"",
                                                       column.name(), "\": ", s.message()));
      }
    }
  }
  return out;
}

std::string CsvField(const cv1::Value& value) {
  std::string text;
  switch (value.kind_case()) {
    case cv1::Value::kInt64Value: return absl::StrCat(value.int64_value());
    case cv1::Value::kDoubleValue: return absl::StrFormat("%.17g", value.double_value());
    case cv1::Value::kBoolValue: return value.bool_value() ? "true" : "false";
    case cv1::Value::kTimestampMicros: return ingestion::FormatRfc3339Micros(value.timestamp_micros());
    case cv1::Value::kStringValue: text = value.string_value(); break;
    default: return "";
  }
  if (!text.empty() && text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  return quoted + "\"";
}

void WriteCsvRows(const std::vector<cv1::Row>& rows, std::ostream& out) {
  for (const cv1::Row& row : rows) {
    for (int i = 0; i < row.values_size(); ++i) {
      if (i > 0) out << ',';
      out << CsvField(row.values(i));
    }
    out << '\n';
  }
}

void WriteCsv(const cv1::Schema& schema, const std::vector<cv1::Row>& rows, std::ostream& out) {
  for (int i = 0; i < schema.columns_size(); ++i) {
    if (i > 0) out << ',';
    cv1::Value name;
    name.set_string_value(schema.columns(i).name());
    out << CsvField(name);
  }
  out << '\n';
  WriteCsvRows(rows, out);
}

}  // namespace mlops::cli
